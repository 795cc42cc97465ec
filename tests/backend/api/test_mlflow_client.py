"""The real MLflow client (mlflow-skinny) logging into a running XLT Lab (uvicorn on 127.0.0.1), as an
unchanged script would after `mlflow.set_tracking_uri(...)`: auth off, and auth on with XLT tokens in
MLFLOW_TRACKING_TOKEN. What it logs must come out as an XLT run: per-language scores, loss history,
config, status, summary, beside trained runs in comparisons."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import mlflow
import pytest
import uvicorn
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from backend import store
from backend.services import compare, mlflow_views, runs
from backend.settings import Settings
from tests.factories import Account, fake_result, tiny_config
from worker.training.languages import DATASET_LANGUAGES

XNLI = DATASET_LANGUAGES["xnli"]
ACCURACY = {lang: round(0.80 - 0.02 * i, 4) for i, lang in enumerate(XNLI)}  # en 0.80 … zh 0.52
LOSS = [round(1.1 - 0.03 * step, 4) for step in range(1, 21)]


@pytest.fixture
def live_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """XLT Lab's app served by uvicorn on a free port of 127.0.0.1 (the settings fixture comes first)."""
    from backend.app import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    for name, value in {
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",  # an error is an answer here, not a reason to retry
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "20",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    # A fresh script: no experiment chosen yet (set_experiment leaves it in a global and the environment).
    monkeypatch.setattr(mlflow.tracking.fluent, "_active_experiment_id", None)
    for name in ("MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
        monkeypatch.setenv(name, "")  # recorded, so that teardown restores what was there before
        monkeypatch.delenv(name)
    url = f"http://127.0.0.1:{port}"
    mlflow.set_tracking_uri(url)
    try:
        yield url
    finally:
        while mlflow.active_run() is not None:
            mlflow.end_run()
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]
        server.should_exit = True
        thread.join(timeout=10)


def _researchers_script(experiment: str) -> str:
    """What a researcher's training script logs: params, a stepped loss, 15 accuracies, tags."""
    mlflow.set_experiment(experiment)
    with mlflow.start_run(run_name="xlmr-baseline-seed1") as run:
        mlflow.log_params(
            {"model_name_or_path": "xlm-roberta-base", "task": "xnli", "lr": 2e-5, "seed": 1, "epochs": 2}
        )
        mlflow.log_param("scheduler", "linear")  # no config field: kept verbatim
        for step, loss in enumerate(LOSS, start=1):
            mlflow.log_metric("train_loss", loss, step=step)
        mlflow.log_metrics({f"accuracy_{lang}": value for lang, value in ACCURACY.items()})
        mlflow.log_metric("train_runtime", 812.5)  # neither a score nor stepped: kept as logged
        mlflow.set_tags({"team": "nlp", "phase": "final"})
    return str(run.info.run_id)


def _check_recorded(run_id: int) -> None:
    run = runs.get_run(run_id)
    assert run.status == "succeeded" and run.finished_at is not None
    assert (run.task, run.model, run.method, run.seed) == ("xnli", "xlm-roberta-base", "baseline", 1)
    assert run.config["train"]["learning_rate"] == 2e-5 and run.config["train"]["epochs"] == 2
    assert run.config["name"] == run.name == "xlmr-baseline-seed1"
    assert {"mlflow", "team=nlp", "phase=final"} <= set(run.tags)
    scores = runs.get_scores(run_id)
    assert {s.language: s.value for s in scores} == ACCURACY
    assert {(s.dataset, s.split, s.metric) for s in scores} == {("xnli", "test", "accuracy")}
    assert run.average == pytest.approx(sum(ACCURACY.values()) / len(ACCURACY))
    assert run.summary is not None and run.summary["average"] == pytest.approx(run.average)
    assert run.summary["transfer_gap"] == pytest.approx(
        ACCURACY["en"] - sum(v for k, v in ACCURACY.items() if k != "en") / 14
    )
    (loss,) = runs.get_history(run_id)
    assert (loss.name, loss.stage, loss.steps, loss.values) == ("loss", "task", list(range(1, 21)), LOSS)
    logged = mlflow_views.logged_values(run_id)
    assert logged is not None
    assert ("scheduler", "linear", None) in logged.params
    assert ("lr", "2e-05", "train.learning_rate") in logged.params
    assert [(key, value) for key, value, _ in logged.metrics] == [("train_runtime", 812.5)]


def test_an_unchanged_mlflow_script_records_an_xlt_run(embedded_settings: Settings, live_url: str) -> None:
    run_id = _researchers_script("xnli from mlflow")
    _check_recorded(int(run_id))

    client = MlflowClient()  # the MLflow side reads back what it logged
    data = client.get_run(run_id).data
    assert data.params["lr"] == "2e-05" and data.metrics["accuracy_sw"] == ACCURACY["sw"]
    assert data.tags["team"] == "nlp"
    assert [m.value for m in client.get_metric_history(run_id, "train_loss")] == LOSS
    experiment = client.get_experiment_by_name("xnli from mlflow")
    assert experiment is not None
    found = client.search_runs([experiment.experiment_id], "metrics.accuracy_de > 0.7 and params.seed = '1'")
    assert [r.info.run_id for r in found] == [run_id]
    assert client.search_runs([experiment.experiment_id], "metrics.accuracy_de > 0.9") == []

    page = httpx.get(f"{live_url}/runs/{run_id}")  # the run page lists the params, mapped or verbatim
    assert page.status_code == 200
    assert "train.learning_rate" in page.text and "scheduler" in page.text and "kept verbatim" in page.text

    # Beside a trained run in a comparison: its own group, all 15 languages, the same metric.
    trained = store.import_result(fake_result(tiny_config(), {"en": 0.7, "de": 0.6, "sw": 0.5, "th": 0.4}))
    result = compare.compare_runs([int(run_id), trained])
    assert len(result.groups) == 2 and result.metric == "accuracy"
    mlflow_group = next(g for g in result.groups if g.run_ids == [int(run_id)])
    cells = {c.language: c.mean for c in result.cells if c.group == mlflow_group.key}
    assert cells == pytest.approx(ACCURACY)
    assert set(result.languages) == set(XNLI)


def test_end_run_statuses_become_xlt_statuses(embedded_settings: Settings, live_url: str) -> None:
    with pytest.raises(RuntimeError), mlflow.start_run() as failed:  # the script crashed
        mlflow.log_metric("loss", 1.0, step=1)
        raise RuntimeError("out of memory")
    with mlflow.start_run() as killed:
        pass
    MlflowClient().set_terminated(killed.info.run_id, "KILLED")
    with mlflow.start_run() as running:
        mlflow.log_param("model", "m")
        assert runs.get_run(int(running.info.run_id)).status == "running"
    statuses = {r: runs.get_run(int(r.info.run_id)).status for r in (failed, killed, running)}
    assert list(statuses.values()) == ["failed", "cancelled", "succeeded"]
    assert runs.get_run(int(failed.info.run_id)).experiment_id is None  # MLflow's Default: no experiment


def test_with_accounts_an_xlt_token_logs_and_roles_hold(
    accounts: dict[str, Account], live_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(MlflowException) as anonymous:
        mlflow.set_experiment("needs a token")
    assert anonymous.value.error_code == "UNAUTHENTICATED"

    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", accounts["alice"].token)
    run_id = _researchers_script("alice's xnli")
    _check_recorded(int(run_id))
    assert runs.get_run(int(run_id)).owner == "alice"

    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", accounts["vera"].token)  # a viewer reads, never writes
    assert MlflowClient().get_run(run_id).data.metrics["accuracy_en"] == ACCURACY["en"]
    with pytest.raises(MlflowException) as viewer:
        mlflow.set_experiment("vera's")
    assert viewer.value.error_code == "PERMISSION_DENIED"

    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", accounts["bob"].token)  # a member, not the owner
    with pytest.raises(MlflowException) as other:
        MlflowClient().log_metric(run_id, "accuracy_de", 0.99)
    assert other.value.error_code == "PERMISSION_DENIED"
    assert {s.language: s.value for s in runs.get_scores(int(run_id))}["de"] == ACCURACY["de"]
