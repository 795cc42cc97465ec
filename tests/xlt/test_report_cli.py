"""`xlt report ID --format …` against a running server (uvicorn, embedded SQLite): the same report
the API returns, in each format; clear errors and exit codes otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

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


def _xlt_report(*args: str, config_home: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`xlt report ARGS` with no XLT_* variables, reading the config file under `config_home`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XLT_", "XDG_CONFIG_HOME"))}
    env["XDG_CONFIG_HOME"] = str(config_home or REPO / "test-output" / "no-config")
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
    assert missing.returncode == 1
    assert missing.stderr == f"xlt report: XLT Lab at {server}: HTTP 404: experiment 99 not found\n"
    unreachable = _xlt_report("1", "--server", f"http://127.0.0.1:{free_port()}")
    assert unreachable.returncode == 1 and "cannot reach" in unreachable.stderr


def test_xlt_report_finds_the_server_in_the_config_file_as_the_client_verbs_do(
    server: str, tmp_path: Path
) -> None:
    experiment_id = stored_study(seeds=range(1, 4), pending=())
    config_home = tmp_path / "config"
    (config_home / "xlt").mkdir(parents=True)
    (config_home / "xlt" / "config.toml").write_text(f'server = "{server}"\n', encoding="utf-8")

    printed = _xlt_report(str(experiment_id), "--format", "markdown", config_home=config_home)

    assert printed.returncode == 0, printed.stderr
    assert "### Verdicts" in printed.stdout
