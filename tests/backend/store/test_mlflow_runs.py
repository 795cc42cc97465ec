"""Runs logged through MLflow in the store: the reaper leaves them alone (no worker beats for them),
and a metric that turns out to be stepped keeps its step-0 value in the history."""

from __future__ import annotations

from backend import store
from backend.services import mlflow_compat, mlflow_views
from backend.services.accounts import LOCAL_ADMIN
from backend.services.mlflow_entities import KeyValue, MetricIn
from backend.settings import Settings


def test_a_running_mlflow_run_is_never_reaped_or_requeued(embedded_settings: Settings) -> None:
    run_id = mlflow_compat.create_run("0", run_name="long epoch", actor=LOCAL_ADMIN).info.run_id
    assert store.get_run(int(run_id)).heartbeat_at is None  # type: ignore[union-attr]
    assert not store.reap_stale_runs(stale_after=0, max_attempts=3)
    assert store.get_run(int(run_id)).status == "running"  # type: ignore[union-attr]
    assert store.dispatch_plan(redispatch_after=0).unsent == []


def test_a_metric_logged_at_step_0_then_at_later_steps_is_history_from_step_0(
    embedded_settings: Settings,
) -> None:
    run_id = mlflow_compat.create_run("0", actor=LOCAL_ADMIN).info.run_id
    for step, value in enumerate([0.5, 0.6, 0.7]):
        mlflow_compat.log_batch(
            run_id,
            metrics=[MetricIn(key="dev_f1", value=value, timestamp=step, step=step)],
            actor=LOCAL_ADMIN,
        )
    (series,) = store.get_history(int(run_id))
    assert (series.name, series.steps, series.values) == ("dev_f1", [0, 1, 2], [0.5, 0.6, 0.7])
    values, _ = mlflow_views.metric_history(run_id, "dev_f1")
    assert [(m.step, m.value) for m in values] == [(0, 0.5), (1, 0.6), (2, 0.7)]


def test_mlflow_tags_follow_their_latest_value_in_xlt_tags_and_the_run_name(
    embedded_settings: Settings,
) -> None:
    run_id = mlflow_compat.create_run(
        "0", run_name="first", tags={"team": "nlp"}, actor=LOCAL_ADMIN
    ).info.run_id
    store.set_tags(int(run_id), ["mlflow", "team=nlp", "mine"])  # a tag added in XLT Lab stays
    for key, value in (("team", "cv"), ("mlflow.runName", "second")):
        mlflow_compat.log_batch(run_id, tags=[KeyValue(key=key, value=value)], actor=LOCAL_ADMIN)
    run = store.get_run(int(run_id))
    assert run is not None and run.tags == ["mine", "mlflow", "team=cv"] and run.name == "second"
    mlflow_compat.delete_tag(run_id, "team", actor=LOCAL_ADMIN)
    assert store.get_run(int(run_id)).tags == ["mine", "mlflow"]  # type: ignore[union-attr]
    assert "team" not in {t.key for t in mlflow_views.get_run(run_id).data.tags}
