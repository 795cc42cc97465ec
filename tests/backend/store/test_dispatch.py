"""The queue of record under contention: several dispatchers and reapers at once act on each run
once (conditional UPDATEs), on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import update

from backend import store
from backend.db import session
from backend.models import Run, utcnow
from backend.settings import Settings
from tests.factories import embedded, postgres_redis, tiny_config
from worker.training.config import RunConfig

T = TypeVar("T")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.redis])])
def any_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    environment = embedded if request.param == "sqlite" else postgres_redis
    with environment(tmp_path / "xlt") as settings:
        yield settings


def _runs(n: int) -> list[int]:
    config = RunConfig.model_validate(tiny_config())
    return [store.create_run(config, queue="cpu", task_id="t").id for _ in range(n)]


def _at_once(n: int, work: Callable[[], T]) -> list[T]:
    """`work` in n threads released together."""
    start = threading.Barrier(n)
    results: list[T] = []
    lock = threading.Lock()

    def one() -> None:
        start.wait()
        value = work()
        with lock:
            results.append(value)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == n
    return results


def test_a_new_run_counts_as_sent_and_a_failed_send_makes_it_wait(any_database: Settings) -> None:
    sent, waiting = _runs(2)
    store.release_dispatch(waiting, "broker unreachable: connection refused")
    plan = store.dispatch_plan(redispatch_after=3600)
    assert plan.unsent == [(waiting, "cpu")] and plan.overdue == [] and plan.expected == {"cpu": 1}
    assert store.dispatch_plan(redispatch_after=1e-6).overdue == [(sent, "cpu")]
    assert store.take_for_dispatch(waiting, 3600)
    assert not store.take_for_dispatch(waiting, 3600)  # sent a moment ago
    in_flight = store.get_run(waiting)  # a retry under way still reads "waiting for the queue"
    assert in_flight is not None and in_flight.waiting_for_queue and in_flight.dispatch_error
    store.mark_sent(waiting)
    got = store.get_run(waiting)
    assert got is not None and not got.waiting_for_queue and got.dispatch_error is None


def test_concurrent_dispatchers_send_each_run_once(any_database: Settings) -> None:
    run_ids = _runs(20)
    for run_id in run_ids:
        store.release_dispatch(run_id, "down")

    def dispatcher() -> list[int]:
        return [r for r, _q in store.dispatch_plan(3600).unsent if store.take_for_dispatch(r, 3600)]

    rounds = _at_once(4, dispatcher)
    sent = sorted(r for taken in rounds for r in taken)
    assert sent == run_ids  # each run taken by exactly one of the four


def test_concurrent_reapers_requeue_each_stale_run_once(any_database: Settings) -> None:
    run_ids = _runs(10)
    for run_id in run_ids:
        assert store.claim_run(run_id, "lost-box", None) is not None
    with session() as s:
        s.execute(update(Run).values(heartbeat_at=utcnow() - timedelta(minutes=5)))
    rounds = _at_once(4, lambda: store.reap_stale_runs(stale_after=60, max_attempts=3).requeued)
    assert sorted(r for requeued in rounds for r in requeued) == run_ids
    assert {r.status for r in store.get_runs(run_ids)} == {"queued"}
    claims = _at_once(4, lambda: [c for r in run_ids if (c := store.claim_run(r, "box", None)) is not None])
    assert sorted(c.attempt for got in claims for c in got) == [2] * len(run_ids)
