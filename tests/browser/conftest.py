"""Browser fixtures: a real server (uvicorn on a free 127.0.0.1 port, embedded SQLite mode in a temp
XLT_HOME), a real local Celery worker process, a tiny model, and Chromium driven by Playwright.

Server and worker live for the whole browser session (starting them is the slow part); every test
gets a fresh browser context (no cookies). Screenshots go to test-output/ (git-ignored).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from backend import store
from tests.factories import (
    REPO,
    Account,
    Dashboard,
    WorkerProcess,
    build_tiny_model,
    embedded,
    fake_result,
    make_account,
    stored_study,
    tiny_config,
)

CHROMIUM = os.environ.get("XLT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


ACCURACY = {"en": 0.81, "de": 0.74, "sw": 0.52, "th": 0.61}


@dataclass
class TeamServer:
    url: str
    member: Account
    run_ids: list[int]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def uvicorn_server(root: Path) -> Iterator[tuple[str, Path]]:
    """`backend.app` under uvicorn on a free 127.0.0.1 port with the current XLT_ environment."""
    port = _free_port()
    log_path = root / "server.log"
    log = log_path.open("wb")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "backend.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        env=dict(os.environ),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=2).read()
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError(f"server did not start:\n{log_path.read_text(errors='replace')}") from None
            time.sleep(0.2)
    try:
        yield url, log_path
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="session")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    root = tmp_path_factory.mktemp("dashboard")
    model = build_tiny_model(root / "tiny-bert")
    with embedded(root / "xlt"), uvicorn_server(root) as (url, log_path):
        worker = WorkerProcess(root / "worker.log")
        try:
            yield Dashboard(url=url, tiny_model=model, worker=worker, server_log=log_path)
        finally:
            worker.stop()


@pytest.fixture(scope="module")  # its XLT_ environment ends with the module that uses it
def team_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TeamServer]:
    """Accounts on (XLT_AUTH=on, as a server for a team): a member with finished runs to look at."""
    root = tmp_path_factory.mktemp("team")
    with embedded(root / "xlt", auth="on", allowed_hosts=""):
        member = make_account("maria", "member")
        config = tiny_config(eval={"languages": ["en", "de", "sw", "th"]})
        runs = [
            store.import_result(fake_result(tiny_config(train={"device": "cpu", "seed": s}), ACCURACY, 40))
            for s in (1, 2)
        ]
        runs.append(store.import_result(fake_result(config | {"robust": {"method": "rs_rp"}}, ACCURACY, 40)))
        with uvicorn_server(root) as (url, _log):
            yield TeamServer(url=url, member=member, run_ids=runs)


@dataclass
class StudyServer:
    url: str
    viewer: Account
    experiment_id: int


@pytest.fixture(scope="module")
def study_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StudyServer]:
    """Accounts on, a viewer, and a finished constructed study (planted low-resource effect, one run
    stuck at chance, one still queued); no worker."""
    root = tmp_path_factory.mktemp("study")
    with embedded(root / "xlt", auth="on", allowed_hosts=""):
        viewer = make_account("vera", "viewer")
        experiment_id = stored_study()
        with uvicorn_server(root) as (url, _log):
            yield StudyServer(url=url, viewer=viewer, experiment_id=experiment_id)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    """A page in a fresh browser context (no cookies, no storage), 1400 px wide like a laptop screen."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
