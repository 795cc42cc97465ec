"""The store against a real (migrated) SQLite database: listing, averages, history, share links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import event

from backend import store
from backend.db import get_engine
from backend.settings import Settings
from tests.factories import fake_result, tiny_config
from worker.training.config import RunConfig


def _seed_runs(n: int) -> list[int]:
    ids = []
    for i in range(n):
        method = "rs_rp" if i % 2 else "none"
        config = tiny_config(robust={"method": method}, train={"device": "cpu", "seed": i})
        ids.append(
            store.import_result(fake_result(config, {"en": 0.5 + i / 100, "de": 0.4}), tags=[f"t{i % 3}"])
        )
    return ids


def test_list_runs_filters_sorts_and_pages_with_averages_in_a_fixed_number_of_queries(
    embedded_settings: Settings,
) -> None:
    _seed_runs(30)
    statements: list[str] = []
    engine = get_engine()

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        store.list_runs(method="rs_rp", sort="-average", page=1, page_size=10)
        tenfold = len(statements)
        statements.clear()
        page = store.list_runs(method="rs_rp", sort="-average", page=2, page_size=5)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # counts, the page's ids, their rows, their tags: no query per run
    assert len(statements) == tenfold <= 5, statements
    assert page.total == 15
    assert [r.method for r in page.items] == ["rs_rp"] * 5
    averages = [r.average or 0.0 for r in page.items]
    assert averages == sorted(averages, reverse=True)
    assert averages[0] == (0.5 + 19 / 100 + 0.4) / 2  # 2nd page of the 15 odd seeds by average: seed 19
    assert store.list_runs(tag="t0").total == 10
    assert store.list_runs(status=["queued"]).total == 0


def test_unknown_sort_column_is_rejected(embedded_settings: Settings) -> None:
    try:
        store.list_runs(sort="config")
    except ValueError as exc:
        assert "sort" in str(exc)
    else:
        raise AssertionError("sort=config was accepted")


def test_finished_run_has_one_score_row_per_language_and_its_average(embedded_settings: Settings) -> None:
    run_id = store.import_result(fake_result(tiny_config(), {"en": 0.8, "de": 0.6, "sw": 0.4, "th": 0.5}))
    scores = store.get_scores(run_id)
    assert sorted(s.language for s in scores) == ["de", "en", "sw", "th"]
    run = store.get_run(run_id)
    assert run is not None and run.status == "succeeded"
    assert run.average is not None and abs(run.average - 0.575) < 1e-9


def test_history_is_downsampled_to_at_most_1000_points_per_series(embedded_settings: Settings) -> None:
    run_id = store.import_result(fake_result(tiny_config(), {"en": 0.8}, history_steps=2500))
    series = {s.name: s for s in store.get_history(run_id)}
    assert set(series) == {"loss", "lr"}
    loss = series["loss"]
    assert len(loss.steps) == 1000 and loss.steps[0] == 1 and loss.steps[-1] == 2500
    assert loss.steps == sorted(loss.steps)
    assert len(store.get_history(run_id, max_points=10)[0].steps) == 10


def test_cancel_of_a_queued_run_cancels_it_at_once(embedded_settings: Settings) -> None:
    config = RunConfig.model_validate(tiny_config())
    run = store.create_run(config, queue="cpu", task_id="t-1")
    cancelled = store.request_cancel(run.id)
    assert cancelled is not None and cancelled.status == "cancelled" and cancelled.finished_at is not None
    assert store.claim_run(run.id, "host", "t-1") is None  # the worker then skips it


def test_claim_run_marks_running_once(embedded_settings: Settings) -> None:
    run = store.create_run(RunConfig.model_validate(tiny_config()), queue="cpu", task_id="t-2")
    assert store.claim_run(run.id, "gpu-box", "t-2") is not None
    assert store.claim_run(run.id, "other-box", "t-2") is None
    got = store.get_run(run.id)
    assert got is not None and got.status == "running" and got.worker_host == "gpu-box" and got.attempts == 1


def test_share_links_are_random_and_stop_working_when_revoked_or_expired(embedded_settings: Settings) -> None:
    link = store.create_share_link("compare", {"runs": [1, 2], "baseline": "run:1"})
    assert len(link.token) >= 32  # 24 random bytes, url-safe base64
    assert store.create_share_link("run", {"run_id": 1}).token != link.token
    assert store.get_share_link(link.token) == link
    assert store.revoke_share_link(link.token)
    assert store.get_share_link(link.token) is None
    expired = store.create_share_link(
        "run", {"run_id": 1}, expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    assert store.get_share_link(expired.token) is None
    assert store.get_share_link("no-such-token") is None
    assert {x.token for x in store.list_share_links()} >= {link.token, expired.token}


def test_a_diverged_loss_or_nan_score_does_not_fail_storing_the_run(embedded_settings: Settings) -> None:
    run = store.create_run(RunConfig.model_validate(tiny_config()), queue="cpu", task_id="t-3")
    claim = store.claim_run(run.id, "host", "t-3")
    assert claim is not None
    nan = float("nan")
    assert (
        store.record_progress(
            run.id,
            attempt=claim.attempt,
            progress=0.5,
            stage="task",
            points=[("task", "loss", 1, nan), ("task", "loss", 2, 1.0)],
        )
        is False
    )
    result = fake_result(tiny_config(), {"en": 0.8, "de": nan})
    result.summary.transfer_gap = nan
    store.complete_run(run.id, result, attempt=claim.attempt)
    assert [s.language for s in store.get_scores(run.id)] == ["en"]
    assert store.get_history(run.id)[0].steps == [2]
    got = store.get_run(run.id)
    assert got is not None and got.status == "succeeded" and got.summary is not None
    assert got.summary["transfer_gap"] is None
