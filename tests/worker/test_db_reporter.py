"""DbReporter: loss points go to the database in batches, and the cancel flag comes back with them."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import event, update
from sqlalchemy.exc import OperationalError

from backend import store
from backend.db import get_engine, session
from backend.models import Run, utcnow
from tests.factories import embedded, tiny_config
from worker.db_reporter import DbReporter
from worker.training.config import RunConfig
from worker.training.results import HistoryPoint


@pytest.fixture
def run_id(tmp_path: Path) -> Iterator[int]:
    with embedded(tmp_path / "xlt"):
        run = store.create_run(RunConfig.model_validate(tiny_config()), queue="cpu", task_id="t")
        assert store.claim_run(run.id, "host", "t") is not None  # attempt 1
        yield run.id


def _point(step: int) -> HistoryPoint:
    return HistoryPoint(stage="task", step=step, epoch=step / 100, loss=1.0 / step, lr=1e-5)


def test_steps_are_written_in_batches_not_one_commit_per_step(run_id: int) -> None:
    commits: list[int] = []
    event.listen(get_engine(), "commit", lambda _conn: commits.append(1))
    reporter = DbReporter(run_id, 1, flush_interval=60)
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
    reporter = DbReporter(run_id, 1, flush_interval=0.0)
    reporter.on_step(_point(1), 0.01)
    assert not reporter.should_stop()
    store.request_cancel(run_id)
    assert reporter.should_stop()
    reporter.close()


class _PointStore:
    """Stands in for backend.store.record_progress: counts the points each flush writes."""

    def __init__(self) -> None:
        self.written = 0

    def record_progress(
        self,
        run_id: int,
        *,
        attempt: int,
        progress: float | None = None,
        stage: str | None = None,
        points: Sequence[tuple[str, str, int, float]] = (),
        replace_from: Mapping[str, int] | None = None,
    ) -> bool:
        self.written += len(points)  # the real store turns the batch into rows right here
        return False


class _PointReadDuringAFlush:
    """A loss point whose `loss` is read while the heartbeat thread flushes, start to finish: what a
    thread switch at that instant does (free-threaded Python, or any switch between the trainer's
    reading the buffer and appending to it)."""

    stage = "task"
    lr = 1e-5

    def __init__(self, step: int, reporter: DbReporter) -> None:
        self.step = step
        self.reporter = reporter

    @property
    def loss(self) -> float:
        beat = threading.Thread(target=self.reporter.flush)
        beat.start()
        beat.join(timeout=10)
        return 1.0 / self.step


def test_a_flush_between_reading_and_appending_a_step_loses_no_point(monkeypatch: pytest.MonkeyPatch) -> None:
    points = _PointStore()
    monkeypatch.setattr(store, "record_progress", points.record_progress)
    reporter = DbReporter(1, 1, flush_interval=3600)
    for step in range(1, 4):
        reporter.on_step(cast(HistoryPoint, _PointReadDuringAFlush(step, reporter)), step / 3)
    reporter.close()
    assert points.written == 3 * 2  # a loss and an lr point per step


def test_points_logged_while_the_heartbeat_thread_flushes_are_never_lost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The trainer's thread adds points while the real heartbeat thread flushes every 0.1 ms.

    A 1 µs switch interval lets the heartbeat in at every chance; on CPython with the GIL the chance
    comes inside on_evaluation's extend (its generator runs Python frames), so an unlocked add loses
    points to a buffer that was already written within a few thousand steps.
    """
    points = _PointStore()
    monkeypatch.setattr(store, "record_progress", points.record_progress)
    metrics = {f"accuracy_{i}": 0.5 for i in range(50)}
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        reporter = DbReporter(1, 1, flush_interval=3600, heartbeat_interval=1e-4)
        for step in range(1, 3001):
            reporter.on_step(_point(step), step / 3000)
            reporter.on_evaluation("task", step, metrics)
        reporter.close()
    finally:
        sys.setswitchinterval(switch)
    assert points.written == 3000 * (2 + len(metrics))


class _DatabaseDown:
    """record_progress that fails like a database that is down, `failures` times, then writes."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0
        self.written: list[tuple[str, str, int, float]] = []

    def record_progress(self, run_id: int, *, attempt: int, points: Sequence[Any] = (), **_: Any) -> bool:
        self.calls += 1
        if self.calls <= self.failures:
            raise OperationalError("INSERT", {}, Exception("connection refused"))
        self.written.extend(points)
        return False


def test_failed_progress_writes_back_off_keep_the_points_and_never_stop_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    down = _DatabaseDown(failures=3)
    monkeypatch.setattr(store, "record_progress", down.record_progress)
    reporter = DbReporter(1, 1, flush_interval=0.01, heartbeat_interval=3600, max_backoff=0.05)
    deadline = time.monotonic() + 10
    step = 0
    while down.calls <= down.failures and time.monotonic() < deadline:
        step += 1
        reporter.on_step(_point(step), 0.5)
        assert not reporter.should_stop()
        time.sleep(0.002)
    reporter.close()
    assert down.calls == 4 + 1  # three failures, the write that worked, close()
    assert [p[2] for p in down.written if p[1] == "loss"] == list(range(1, step + 1))
    assert step > down.calls  # between tries the trainer went on without waiting for the database


def test_beyond_the_buffer_cap_the_oldest_points_are_dropped_and_counted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    down = _DatabaseDown(failures=1)
    monkeypatch.setattr(store, "record_progress", down.record_progress)
    reporter = DbReporter(1, 1, flush_interval=3600, heartbeat_interval=3600, max_pending_points=10)
    for step in range(1, 9):
        reporter.on_step(_point(step), 0.5)  # 16 points
    assert not reporter.flush() and reporter.dropped_points == 6
    assert reporter.flush()
    assert [p[2] for p in down.written if p[1] == "loss"] == [4, 5, 6, 7, 8]
    reporter.close()


def test_a_fenced_out_attempt_is_told_to_stop(run_id: int) -> None:
    reporter = DbReporter(run_id, 1, flush_interval=0.0, heartbeat_interval=3600)
    reporter.on_step(_point(1), 0.1)
    assert not reporter.should_stop() and not reporter.lost
    with session() as s:  # the worker was declared lost and another one claimed the run
        s.execute(update(Run).values(heartbeat_at=utcnow() - timedelta(hours=1)))
    assert store.reap_stale_runs(stale_after=60, max_attempts=3).requeued == [run_id]
    assert store.claim_run(run_id, "other", None) is not None
    reporter.on_step(_point(2), 0.2)
    assert reporter.should_stop() and reporter.lost
    reporter.close()
    (loss,) = [s for s in store.get_history(run_id) if s.name == "loss"]
    assert loss.steps == [1]  # nothing after the attempt lost the run
