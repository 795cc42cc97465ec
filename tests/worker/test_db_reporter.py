"""DbReporter: loss points go to the database in batches, and the cancel flag comes back with them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event

from backend import store
from backend.db import get_engine
from tests.backend.results_factory import tiny_config
from tests.backend.services import embedded
from worker.db_reporter import DbReporter
from worker.training.config import RunConfig
from worker.training.results import HistoryPoint


@pytest.fixture
def run_id(tmp_path: Path) -> Iterator[int]:
    with embedded(tmp_path / "xlt"):
        run = store.create_run(RunConfig.model_validate(tiny_config()), queue="cpu", task_id="t")
        store.claim_run(run.id, "host", "t")
        yield run.id


def _point(step: int) -> HistoryPoint:
    return HistoryPoint(stage="task", step=step, epoch=step / 100, loss=1.0 / step, lr=1e-5)


def test_steps_are_written_in_batches_not_one_commit_per_step(run_id: int) -> None:
    commits: list[int] = []
    event.listen(get_engine(), "commit", lambda _conn: commits.append(1))
    reporter = DbReporter(run_id, flush_interval=60)
    reporter.on_stage("task", 100)
    commits.clear()
    for step in range(1, 101):
        reporter.on_step(_point(step), step / 100)
        assert not reporter.should_stop()
    assert commits == []  # nothing written yet: within one flush interval
    reporter.close()
    assert len(commits) == 1
    loss = next(s for s in store.get_history(run_id) if s.name == "loss")
    assert loss.steps == list(range(1, 101))
    run = store.get_run(run_id)
    assert run is not None and run.progress == 1.0 and run.stage == "task" and run.heartbeat_at is not None


def test_cancel_flag_is_read_at_the_next_flush(run_id: int) -> None:
    reporter = DbReporter(run_id, flush_interval=0.0)
    reporter.on_step(_point(1), 0.01)
    assert not reporter.should_stop()
    store.request_cancel(run_id)
    assert reporter.should_stop()
    reporter.close()
