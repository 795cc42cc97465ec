"""`xlt report ID --format …` against a running server (uvicorn, embedded SQLite): the same report
the API returns, in each format; clear errors and exit codes otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from backend.settings import Settings
from backend.studies.render import Format
from backend.studies.report_models import StudyReport
from tests.factories import REPO, free_port, stored_study
from xlt.report_cli import FORMATS


@pytest.fixture
def server(embedded_settings: Settings) -> Iterator[str]:
    from backend.app import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _xlt_report(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XLT_")}
    return subprocess.run(
        [sys.executable, "-m", "xlt.cli", "report", *args], cwd=REPO, env=env, capture_output=True, text=True
    )


def test_xlt_report_prints_the_servers_report_in_every_format(server: str) -> None:
    experiment_id = stored_study(seeds=range(1, 4), pending=())
    printed = {fmt: _xlt_report(str(experiment_id), "--format", fmt, "--server", server) for fmt in FORMATS}
    assert all(p.returncode == 0 for p in printed.values()), {f: p.stderr for f, p in printed.items()}
    report = StudyReport.model_validate_json(printed["json"].stdout)
    assert report.verdict("rs_rp", "low").label == "improves"
    assert report.verdict("stsb", "low").label == "no detectable change"
    assert report.excluded == []  # the stuck run is seed 6, not in this study
    table = printed["table"].stdout
    assert table.startswith("Study report: xnli from en, against baseline") and "Excluded runs (0)" in table
    assert report.verdict("rs_rp", "low").sentence in table
    assert "\\toprule" in printed["latex"].stdout and "### Verdicts" in printed["markdown"].stdout
    assert set(FORMATS) == set(Format.__args__)  # type: ignore[attr-defined]


def test_xlt_report_says_what_is_wrong(server: str) -> None:
    missing = _xlt_report("99", "--server", server)
    assert missing.returncode == 1 and "404 experiment 99 not found" in missing.stderr
    unreachable = _xlt_report("1", "--server", f"http://127.0.0.1:{free_port()}")
    assert unreachable.returncode == 1 and "cannot reach" in unreachable.stderr
