"""The dispatcher, one round at a time, on the embedded stack (SQLite database and broker):
waiting runs are sent, lost messages are sent again, stale runs are reaped only once the dispatcher
has seen the database up for a whole stale timeout, spooled results are stored."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from backend import queue, store
from backend.db import session
from backend.models import Run, utcnow
from backend.settings import Settings
from tests.factories import embedded, fake_result, tiny_config, xlt_environment
from worker import spool
from worker.dispatcher import Dispatcher
from worker.training.config import RunConfig


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    with embedded(tmp_path / "xlt") as s:
        s.redispatch_after = 0.05
        s.stale_after = 0.2
        yield s


def _run(settings: Settings) -> int:
    return store.create_run(RunConfig.model_validate(tiny_config()), queue=settings.cpu_queue, task_id="t").id


def _purge(name: str) -> None:
    with queue.get_celery().connection_for_write() as conn:
        conn.default_channel.queue_purge(name)


def test_a_run_waiting_for_the_queue_is_sent_once_the_broker_answers(settings: Settings) -> None:
    run_id = _run(settings)
    store.release_dispatch(run_id, "broker unreachable: connection refused")
    done = Dispatcher(settings).run_once()
    assert done.sent == [run_id] and queue.queue_depth(settings.cpu_queue) == 1
    run = store.get_run(run_id)
    assert run is not None and not run.waiting_for_queue and run.dispatch_error is None
    assert Dispatcher(settings).run_once().sent == []  # sent: nothing to do


def test_lost_messages_are_sent_again_and_present_ones_are_not(settings: Settings) -> None:
    run_ids = [_run(settings) for _ in range(3)]
    for run_id in run_ids:
        queue.enqueue_run(run_id, settings.cpu_queue, "t")
    time.sleep(0.1)  # past redispatch_after
    dispatcher = Dispatcher(settings)
    assert dispatcher.run_once().resent == []  # the queue holds all three
    _purge(settings.cpu_queue)  # the broker lost them (restart without persistence, FLUSHALL)
    time.sleep(0.1)
    assert dispatcher.run_once().resent == run_ids
    assert queue.queue_depth(settings.cpu_queue) == 3
    time.sleep(0.1)
    assert dispatcher.run_once().resent == []


def test_stale_runs_are_reaped_only_after_a_whole_stale_timeout_of_database(settings: Settings) -> None:
    run_id = _run(settings)
    assert store.claim_run(run_id, "lost-box", None) is not None
    with session() as s:
        s.execute(update(Run).values(heartbeat_at=utcnow() - timedelta(hours=1)))
    dispatcher = Dispatcher(settings)
    assert not dispatcher.run_once().reaped  # just started: live workers get stale_after to beat
    time.sleep(settings.stale_after)
    done = dispatcher.run_once()
    assert done.reaped.requeued == [run_id] and done.sent == [run_id]  # re-queued and sent at once
    run = store.get_run(run_id)
    assert run is not None and run.status == "queued" and run.attempts == 1


def test_spooled_results_are_stored_and_fenced_ones_kept_aside(settings: Settings) -> None:
    owned, lost = _run(settings), _run(settings)
    for run_id in (owned, lost):
        assert store.claim_run(run_id, "box", None) is not None
    store.request_cancel(lost)
    store.mark_cancelled(lost, attempt=1)
    result = fake_result(tiny_config(), {"en": 0.8, "de": 0.6})
    spool.write(settings.spool_dir, owned, 1, result)
    spool.write(settings.spool_dir, lost, 1, result)
    assert Dispatcher(settings).run_once().spooled == {"stored": 1, "fenced": 1}
    run = store.get_run(owned)
    assert run is not None and run.status == "succeeded" and len(store.get_scores(owned)) == 2
    assert spool.pending(settings.spool_dir) == []
    assert (settings.spool_dir / "fenced" / f"run-{lost}-attempt-1.json").is_file()


def test_a_database_that_is_down_is_a_reported_round_not_a_crash(tmp_path: Path) -> None:
    with xlt_environment(home=str(tmp_path), database_url="postgresql+psycopg://xlt@127.0.0.1:1/none") as s:
        done = Dispatcher(s).run_once()
    assert done.database_error and "127.0.0.1" in done.database_error


def test_checkpoints_of_runs_that_are_over_are_swept_and_others_kept(settings: Settings) -> None:
    over, queued = _run(settings), _run(settings)
    store.complete_run(over, fake_result(tiny_config(), {"en": 0.8}))
    for run_id in (over, queued):
        (settings.run_checkpoint_dir(run_id) / "ckpt-000001").mkdir(parents=True)
    assert Dispatcher(settings).run_once().checkpoints_removed == [over]
    assert not settings.run_checkpoint_dir(over).exists() and settings.run_checkpoint_dir(queued).is_dir()
