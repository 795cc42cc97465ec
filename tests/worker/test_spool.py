"""The spool: a finished result waiting for the database is stored once, by whoever holds it."""

from __future__ import annotations

from pathlib import Path

from backend import store
from backend.settings import Settings
from tests.factories import fake_result, tiny_config
from worker import spool
from worker.training.config import RunConfig


def _claimed_run() -> int:
    run = store.create_run(RunConfig.model_validate(tiny_config()), queue="cpu", task_id="t")
    assert store.claim_run(run.id, "box", None) is not None
    return run.id


def test_a_result_its_task_still_holds_is_left_to_the_task(embedded_settings: Settings) -> None:
    run_id, spool_dir = _claimed_run(), embedded_settings.spool_dir
    result = fake_result(tiny_config(), {"en": 0.8})
    with spool.spooled(spool_dir, run_id, 1, result) as item:
        assert spool.drain(spool_dir) == {}  # a dispatcher's round meanwhile: not its business
        assert spool.store_spooled(item) == "stored"
    assert spool.drain(spool_dir) == {} and spool.pending(spool_dir) == []
    assert len(store.get_scores(run_id)) == 1


def test_a_result_left_behind_is_stored_by_the_next_drain(embedded_settings: Settings) -> None:
    run_id, spool_dir = _claimed_run(), embedded_settings.spool_dir
    path = spool.write(spool_dir, run_id, 1, fake_result(tiny_config(), {"en": 0.8}))
    assert path.name == f"run-{run_id}-attempt-1.json" and not list(spool_dir.glob(".*.tmp"))
    assert spool.drain(spool_dir) == {"stored": 1}
    run = store.get_run(run_id)
    assert run is not None and run.status == "succeeded"


def test_an_unreadable_file_is_kept_aside_not_lost(embedded_settings: Settings, tmp_path: Path) -> None:
    spool_dir = embedded_settings.spool_dir
    spool_dir.mkdir(parents=True)
    (spool_dir / "run-7-attempt-1.json").write_text("{not json")
    assert spool.drain(spool_dir) == {"unreadable": 1}
    assert (spool_dir / "unreadable" / "run-7-attempt-1.json").read_text() == "{not json"
