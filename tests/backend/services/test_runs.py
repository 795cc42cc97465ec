"""backend.services.runs: the use cases behind both front doors, and the domain errors they raise."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend import store
from backend.errors import Conflict, Invalid, NotFound
from backend.migrate import upgrade
from backend.services import runs
from backend.services.accounts import LOCAL_ADMIN
from backend.settings import Settings
from tests.factories import fake_result, tiny_config, xlt_environment


def test_a_run_submitted_while_the_broker_is_down_stays_queued_waiting_for_the_queue(tmp_path: Path) -> None:
    with xlt_environment(home=str(tmp_path), broker_url="redis://127.0.0.1:1/0"):
        upgrade()
        created = runs.submit_run(tiny_config(), actor=LOCAL_ADMIN)
        assert created.status == "queued" and "waiting for the queue" in (created.message or "")
        sweep = runs.submit_sweep(
            name="s", base=tiny_config(), grid={"train.seed": [1, 2, 3]}, actor=LOCAL_ADMIN
        )
        assert "3 of 3 runs are waiting for the queue" in (sweep.message or "")
        listed = store.list_runs(sort="id").items
        assert [r.status for r in listed] == ["queued"] * 4
        assert all(r.waiting_for_queue and "broker unreachable" in (r.dispatch_error or "") for r in listed)
        assert "waiting for the queue" in (runs.run_details(created.id).queue_note or "")


def test_an_invalid_config_is_invalid_naming_the_field_and_stores_nothing(
    embedded_settings: Settings,
) -> None:
    with pytest.raises(Invalid, match="train.batch_size"):
        runs.submit_run(tiny_config(train={"batch_size": 0}), actor=LOCAL_ADMIN)
    with pytest.raises(Invalid, match="experiment_id"):
        runs.submit_run(tiny_config(), experiment_id=42, actor=LOCAL_ADMIN)
    assert store.list_runs().total == 0


def test_cancel_is_a_conflict_once_the_run_has_finished(embedded_settings: Settings) -> None:
    created = runs.submit_run(tiny_config(), actor=LOCAL_ADMIN)
    assert created.message is None and not runs.get_run(created.id).waiting_for_queue
    claim = store.claim_run(created.id, "host", None)
    assert claim is not None
    store.complete_run(created.id, fake_result(tiny_config(), {"en": 0.8}), attempt=claim.attempt)
    with pytest.raises(Conflict, match="already succeeded"):
        runs.cancel_run(created.id, actor=LOCAL_ADMIN)
    with pytest.raises(NotFound):
        runs.cancel_run(created.id + 1, actor=LOCAL_ADMIN)


def test_retry_keeps_config_experiment_and_tags_and_points_back(embedded_settings: Settings) -> None:
    sweep = runs.submit_sweep(
        name="s", base=tiny_config(), grid={"train.seed": [1, 2]}, tags=["t"], actor=LOCAL_ADMIN
    )
    first = sweep.run_ids[0]
    retried = runs.retry_run(first, actor=LOCAL_ADMIN)
    new, old = runs.get_run(retried.id), runs.get_run(first)
    assert (new.config, new.experiment_id, new.tags) == (old.config, sweep.experiment_id, ["t"])
    assert new.status == "queued" and retried.id not in sweep.run_ids


def test_listing_with_an_unknown_status_or_sort_is_invalid(embedded_settings: Settings) -> None:
    with pytest.raises(Invalid, match="allowed: queued, running, succeeded, failed, cancelled"):
        runs.list_runs(runs.RunQuery(statuses=("done",)))
    with pytest.raises(Invalid, match="sort"):
        runs.list_runs(runs.RunQuery(sort="config"))


def test_run_details_of_an_unknown_run_is_not_found(embedded_settings: Settings) -> None:
    with pytest.raises(NotFound, match="run 5 not found"):
        runs.run_details(5)
