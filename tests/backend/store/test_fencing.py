"""Fencing: after a claim, every write carries the attempt number and lands only while that attempt
owns the run; the reaper puts runs of lost workers back in the queue, counting attempts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from backend import store
from backend.db import session
from backend.models import Run, utcnow
from backend.settings import Settings
from tests.factories import embedded, fake_result, postgres_redis, tiny_config
from worker.training.config import RunConfig


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.redis])])
def any_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    environment = embedded if request.param == "sqlite" else postgres_redis
    with environment(tmp_path / "xlt") as settings:
        yield settings


def _new_run() -> int:
    return store.create_run(RunConfig.model_validate(tiny_config()), queue="cpu", task_id="t").id


def _silence(run_id: int, seconds: float = 3600) -> None:
    """The run's worker stopped beating `seconds` ago (as a SIGKILL leaves it)."""
    with session() as s:
        s.execute(
            update(Run).where(Run.id == run_id).values(heartbeat_at=utcnow() - timedelta(seconds=seconds))
        )


def _claim(run_id: int, host: str = "host") -> int:
    claim = store.claim_run(run_id, host, None)
    assert claim is not None
    return claim.attempt


def test_a_lost_attempt_can_write_nothing_once_the_run_is_requeued_and_claimed_again(
    any_database: Settings,
) -> None:
    run_id = _new_run()
    first = _claim(run_id, "box-1")
    store.record_progress(run_id, attempt=first, progress=0.3, points=[("task", "loss", 1, 1.0)])
    _silence(run_id)
    assert store.reap_stale_runs(stale_after=60, max_attempts=3).requeued == [run_id]
    second = _claim(run_id, "box-2")
    assert (first, second) == (1, 2)

    result = fake_result(tiny_config(), {"en": 0.8, "de": 0.6})
    for write in (
        lambda: store.record_progress(run_id, attempt=first, progress=0.9),
        lambda: store.complete_run(run_id, result, attempt=first),
        lambda: store.fail_run(run_id, "zombie", attempt=first),
        lambda: store.mark_cancelled(run_id, attempt=first),
    ):
        with pytest.raises(store.LostOwnership):
            write()
    run = store.get_run(run_id)
    assert run is not None and run.status == "running" and run.worker_host == "box-2" and run.progress == 0
    assert store.get_scores(run_id) == []

    store.complete_run(run_id, result, attempt=second)
    with pytest.raises(store.LostOwnership):  # the zombie finishing late flips nothing
        store.complete_run(run_id, fake_result(tiny_config(), {"en": 0.1}), attempt=first)
    run = store.get_run(run_id)
    assert run is not None and run.status == "succeeded" and run.attempts == 2
    assert sorted((s.language, s.value) for s in store.get_scores(run_id)) == [("de", 0.6), ("en", 0.8)]


def test_a_second_claim_of_a_finished_run_is_refused_and_its_scores_stay_one_set(
    any_database: Settings,
) -> None:
    """The old bug: a redelivered task re-claimed a run, hit the scores' primary key and wrote the
    succeeded run as failed."""
    run_id = _new_run()
    attempt = _claim(run_id)
    store.complete_run(run_id, fake_result(tiny_config(), {"en": 0.8}), attempt=attempt)
    _silence(run_id)
    assert not store.reap_stale_runs(stale_after=60, max_attempts=3)  # finished runs are not stale
    assert store.claim_run(run_id, "other", None) is None
    with pytest.raises(store.LostOwnership):
        store.complete_run(run_id, fake_result(tiny_config(), {"en": 0.8}), attempt=attempt)
    with pytest.raises(store.LostOwnership):
        store.fail_run(run_id, "IntegrityError: duplicate key", attempt=attempt)
    run = store.get_run(run_id)
    assert run is not None and run.status == "succeeded" and len(store.get_scores(run_id)) == 1


def test_storing_a_result_again_replaces_the_score_set(any_database: Settings) -> None:
    run_id = _new_run()
    store.complete_run(run_id, fake_result(tiny_config(), {"en": 0.8, "de": 0.5}))
    store.complete_run(run_id, fake_result(tiny_config(), {"en": 0.7, "de": 0.4}))
    assert sorted(s.value for s in store.get_scores(run_id)) == [0.4, 0.7]


def test_a_resumed_attempt_rewrites_the_points_logged_after_its_checkpoint(
    embedded_settings: Settings,
) -> None:
    run_id = _new_run()
    first = _claim(run_id)
    store.record_progress(run_id, attempt=first, points=[("task", "loss", s, 1.0) for s in range(1, 11)])
    _silence(run_id)
    store.reap_stale_runs(stale_after=60, max_attempts=3)
    second = _claim(run_id)
    resumed = [("task", "loss", s, 0.5) for s in range(7, 13)]  # checkpoint at step 6
    store.record_progress(run_id, attempt=second, points=resumed, replace_from={"task": 7})
    (loss,) = store.get_history(run_id)
    assert loss.steps == list(range(1, 13))
    assert loss.values == [1.0] * 6 + [0.5] * 6


def test_the_reaper_requeues_while_attempts_remain_then_fails_as_worker_lost(
    embedded_settings: Settings,
) -> None:
    run_id = _new_run()
    for attempt in (1, 2):
        assert _claim(run_id) == attempt
        _silence(run_id, 90)
        assert store.reap_stale_runs(stale_after=60, max_attempts=3).requeued == [run_id]
        run = store.get_run(run_id)
        assert run is not None and run.status == "queued" and run.waiting_for_queue
        assert run.error_message == f"attempt {attempt} lost: no heartbeat for 90 s; re-queued"
    assert _claim(run_id) == 3
    store.record_progress(run_id, attempt=3, progress=0.5)
    assert not store.reap_stale_runs(stale_after=60, max_attempts=3)  # beating: not stale
    _silence(run_id, 90)
    assert store.reap_stale_runs(stale_after=60, max_attempts=3).failed == [run_id]
    run = store.get_run(run_id)
    assert run is not None and run.status == "failed" and run.finished_at is not None
    assert run.error_message == "worker lost: no heartbeat for 90 s after 3 attempts"


def test_a_stale_run_with_a_cancel_request_is_cancelled_not_requeued(embedded_settings: Settings) -> None:
    run_id = _new_run()
    _claim(run_id)
    store.request_cancel(run_id)
    _silence(run_id)
    assert store.reap_stale_runs(stale_after=60, max_attempts=3).cancelled == [run_id]
    run = store.get_run(run_id)
    assert run is not None and run.status == "cancelled"
