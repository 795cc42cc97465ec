"""Every `xlt serve` runs a dispatcher, and `xlt dispatcher` runs one alone: a run that waits for the
queue when the process starts is sent within seconds, and SIGTERM stops the process cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from backend import store
from tests.factories import REPO, embedded, free_port, tiny_config, wait_until
from worker.training.config import RunConfig


@pytest.mark.parametrize("verb", [["serve", "--no-worker"], ["dispatcher"]], ids=["serve", "dispatcher"])
def test_a_run_waiting_for_the_queue_is_sent_by_the_process_dispatcher(
    tmp_path: Path, verb: list[str]
) -> None:
    with embedded(tmp_path / "home"):
        run = store.create_run(RunConfig.model_validate(tiny_config()), queue="cpu", task_id="t")
        store.release_dispatch(run.id, "broker unreachable: (test)")
        env = {**os.environ, "XLT_DISPATCH_INTERVAL": "0.5", "XLT_PORT": str(free_port())}
        log = tmp_path / "process.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "xlt.cli", *verb],
                cwd=REPO,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            sent = wait_until(
                lambda: (r := store.get_run(run.id)) and not r.waiting_for_queue and r,
                60,
                "run sent",
                log.read_text(errors="replace")[-3000:],
            )
            assert sent.status == "queued" and sent.dispatched_at and sent.dispatch_error is None
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=30)
        assert code == 0, log.read_text(errors="replace")[-3000:]
