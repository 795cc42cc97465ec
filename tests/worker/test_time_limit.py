"""XLT_RUN_TIME_LIMIT_MINUTES: the worker stops a run that trains too long at its next cooperative
check (the cancel path) and fails it with a "time limit" message; a cancel stays a cancel."""

from __future__ import annotations

import time
from pathlib import Path

from backend import store
from tests.factories import embedded, tiny_run_config
from worker.db_reporter import DbReporter
from worker.tasks import execute_run
from worker.training.config import RunConfig

LIMIT_S = 3.0


def test_a_real_tiny_run_past_its_time_limit_fails_with_a_time_limit_error(
    tmp_path: Path, tiny_model: Path
) -> None:
    with embedded(tmp_path / "xlt", run_time_limit_minutes=str(LIMIT_S / 60)) as settings:
        raw = tiny_run_config(tiny_model, epochs=100)  # minutes of training
        config = RunConfig.model_validate(raw | {"data": {"source": "local", "dir": settings.data_dir}})
        run = store.create_run(config, queue="cpu", task_id="t")
        started = time.monotonic()
        assert execute_run(run.id, "t") == "failed"
        elapsed = time.monotonic() - started
        stored = store.get_run(run.id)
        assert stored is not None and stored.status == "failed"
        assert stored.error_message is not None and stored.error_message.startswith("time limit:")
        assert "XLT_RUN_TIME_LIMIT_MINUTES" in stored.error_message
        assert stored.traceback is None
        assert elapsed < LIMIT_S + 30  # stopped at the next check, not at the end of 100 epochs


def test_the_time_limit_is_not_a_cancel_and_a_cancel_is_not_a_timeout(tmp_path: Path) -> None:
    from tests.factories import tiny_config

    with embedded(tmp_path / "xlt"):
        run = store.create_run(RunConfig.model_validate(tiny_config()), queue="cpu", task_id="t")
        assert store.claim_run(run.id, "host", "t") is not None
        timed = DbReporter(run.id, 1, time_limit=0.05)
        untimed = DbReporter(run.id, 1, time_limit=None)
        try:
            assert not timed.should_stop()
            time.sleep(0.1)
            assert timed.should_stop() and timed.timed_out and not timed.cancel_requested
            assert not untimed.should_stop() and not untimed.timed_out
        finally:
            timed.close()
            untimed.close()
