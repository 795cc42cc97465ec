"""MLflow's view of XLT Lab: experiments and runs as MLflow's REST API answers them (get, search,
metric history), and what an MLflow script logged to a run for its run page.

Every XLT run reads as an MLflow run: one logged through MLflow shows what its script logged,
verbatim; one XLT Lab trained shows its flattened config as params and its scores (`accuracy_de`,
`americasnli.accuracy_gn`) and average as metrics. MLflow's Default experiment "0" holds the runs of
no experiment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from backend import store
from backend.errors import Invalid, NotFound
from backend.run_configs import flatten_config
from backend.schemas import ExperimentOut as XltExperiment
from backend.schemas import ScoreOut
from backend.services import mlflow_search as search
from backend.services.mlflow_entities import (
    DEFAULT_EXPERIMENT_ID,
    DEFAULT_EXPERIMENT_NAME,
    NOTE_TAG,
    RUN_NAME_TAG,
    USER_TAG,
    ExperimentOut,
    KeyValue,
    MetricOut,
    MlflowRun,
    RunData,
    RunInfo,
    experiment_number,
    ms,
    run_number,
)
from backend.services.mlflow_mapping import (
    TO_MLFLOW_STATUS,
    config_from_params,
    history_name,
    score_key,
    score_languages,
)
from backend.store import mlflow_runs as logged_store
from backend.store.common import MLFLOW_QUEUE
from backend.store.mlflow_runs import LoggedRun
from worker.training.results import FINISHED_STATUSES

RUN_ATTRIBUTES = {"run_id", "run_name", "status", "start_time", "end_time", "user_id", "experiment_id"}
EXPERIMENT_ATTRIBUTES = {"experiment_id", "name", "creation_time", "last_update_time"}


@dataclass(frozen=True)
class LoggedValues:
    """What an MLflow script logged to a run, for its run page: every param (and the config field it
    set, if any), the tags, and the latest value of each metric that is neither a score nor history."""

    params: list[tuple[str, str, str | None]] = field(default_factory=list)
    tags: list[tuple[str, str]] = field(default_factory=list)
    metrics: list[tuple[str, float, int]] = field(default_factory=list)


# ── experiments ──────────────────────────────────────────────────────────────────────────────────

_DEFAULT = ExperimentOut(
    experiment_id=DEFAULT_EXPERIMENT_ID, name=DEFAULT_EXPERIMENT_NAME, creation_time=0, last_update_time=0
)


def _experiment(exp: XltExperiment) -> ExperimentOut:
    created = ms(exp.created_at)
    tags = [KeyValue(key=NOTE_TAG, value=exp.description)] if exp.description else []
    return ExperimentOut(
        experiment_id=str(exp.id), name=exp.name, creation_time=created, last_update_time=created, tags=tags
    )


def get_experiment(experiment_id: str) -> ExperimentOut:
    number = experiment_number(experiment_id)
    if number is None:
        return _DEFAULT
    exp = store.get_experiment(number)
    if exp is None:
        raise NotFound(f"No Experiment with id={experiment_id} exists")
    return _experiment(exp)


def get_experiment_by_name(name: str) -> ExperimentOut:
    exp = logged_store.experiment_by_name(name)
    if exp is not None:
        return _experiment(exp)
    if name == DEFAULT_EXPERIMENT_NAME:
        return _DEFAULT
    raise NotFound(f"Could not find experiment with name '{name}'")


def _experiment_record(exp: ExperimentOut) -> search.Record:
    attributes: dict[str, str | float | None] = {
        "experiment_id": exp.experiment_id,
        "name": exp.name,
        "creation_time": exp.creation_time,
        "last_update_time": exp.last_update_time,
    }
    return search.Record(attributes=attributes, tags={t.key: t.value for t in exp.tags})


def search_experiments(
    *,
    filter_string: str | None = None,
    order_by: Sequence[str] = (),
    max_results: int = 1000,
    page_token: str | None = None,
    deleted_only: bool = False,
) -> tuple[list[ExperimentOut], str | None]:
    """Every experiment (newest first, Default last) matching the filter; XLT Lab deletes none."""
    clauses = search.parse_filter(filter_string, EXPERIMENT_ATTRIBUTES)
    if deleted_only:
        return [], None
    found = [_experiment(e) for e in store.list_experiments()]
    if logged_store.experiment_by_name(DEFAULT_EXPERIMENT_NAME) is None:
        found.append(_DEFAULT)
    records = [_experiment_record(e) for e in found]
    kept = [(e, r) for e, r in zip(found, records, strict=True) if search.matches(clauses, r)]
    ordered = search.order([e for e, _ in kept], [r for _, r in kept], order_by, EXPERIMENT_ATTRIBUTES)
    return search.page(ordered, max_results, page_token)


# ── runs: reading ────────────────────────────────────────────────────────────────────────────────


def run_info(logged: LoggedRun) -> RunInfo:
    run = logged.run
    exp = DEFAULT_EXPERIMENT_ID if run.experiment_id is None else str(run.experiment_id)
    return RunInfo(
        run_id=str(run.id),
        run_uuid=str(run.id),
        experiment_id=exp,
        run_name=run.name,
        user_id=run.owner or logged.tags.get(USER_TAG, ""),
        status=TO_MLFLOW_STATUS[run.status],
        start_time=ms(run.started_at or run.created_at),
        end_time=ms(run.finished_at) if run.status in FINISHED_STATUSES else None,
        artifact_uri=f"mlflow-artifacts:/{exp}/{run.id}/artifacts",  # refused: XLT Lab keeps no artifacts
    )


def _score_key(score: ScoreOut, task: str) -> str:
    """'accuracy_de' for the task's test split; dataset and split prefixed otherwise."""
    dataset = "" if score.dataset == task else f"{score.dataset}."
    split = "" if score.split == "test" else f"{score.split}_"
    return f"{dataset}{split}{score.metric}_{score.language}"


def _trained_data(logged: LoggedRun, scores: list[ScoreOut]) -> RunData:
    """MLflow's view of a run XLT Lab trained: config as params, scores and average as metrics."""
    run = logged.run
    when = ms(run.finished_at or run.created_at) or 0
    metrics = [MetricOut.of(_score_key(s, run.task), s.value, when, 0) for s in scores]
    if run.average is not None:
        metrics.append(MetricOut.of("average", run.average, when, 0))
    params = [KeyValue(key=k, value=str(v)) for k, v in flatten_config(run.config).items() if v is not None]
    tags = [KeyValue(key=RUN_NAME_TAG, value=run.name)]
    tags += [KeyValue(key=k, value=v) for k, _, v in (t.partition("=") for t in run.tags)]
    return RunData(metrics=metrics, params=params, tags=tags)


def _logged_data(logged: LoggedRun) -> RunData:
    tags = dict(logged.tags)
    tags[RUN_NAME_TAG] = logged.run.name
    return RunData(
        metrics=[MetricOut.of(m.key, m.value, m.timestamp, m.step) for m in logged.latest],
        params=[KeyValue(key=k, value=v) for k, v in sorted(logged.params.items())],
        tags=[KeyValue(key=k, value=v) for k, v in sorted(tags.items())],
    )


def _entity(logged: LoggedRun, scores: list[ScoreOut] | None = None) -> MlflowRun:
    if logged.queue == MLFLOW_QUEUE:
        return MlflowRun(info=run_info(logged), data=_logged_data(logged))
    return MlflowRun(info=run_info(logged), data=_trained_data(logged, scores or []))


def logged_run(run_id: str, *, with_metrics: bool = True) -> LoggedRun:
    logged = logged_store.logged_run(run_number(run_id), with_metrics=with_metrics)
    if logged is None:
        raise NotFound(f"Run with id={run_id} not found")
    return logged


def get_run(run_id: str) -> MlflowRun:
    logged = logged_run(run_id)
    scores = [] if logged.queue == MLFLOW_QUEUE else logged_store.scores_of([logged.run.id])[logged.run.id]
    return _entity(logged, scores)


def _run_record(run: MlflowRun) -> search.Record:
    info = run.info
    attributes: dict[str, str | float | None] = {
        "run_id": info.run_id,
        "run_name": info.run_name,
        "status": info.status,
        "user_id": info.user_id,
        "experiment_id": info.experiment_id,
        "start_time": info.start_time,
        "end_time": info.end_time,
    }
    metrics = {m.key: float(m.value) for m in run.data.metrics}
    return search.Record(
        attributes=attributes,
        metrics=metrics,
        params={p.key: p.value for p in run.data.params},
        tags={t.key: t.value for t in run.data.tags},
    )


def search_runs(
    experiment_ids: Sequence[str],
    *,
    filter_string: str | None = None,
    order_by: Sequence[str] = (),
    max_results: int = 1000,
    page_token: str | None = None,
    deleted_only: bool = False,
) -> tuple[list[MlflowRun], str | None]:
    """Runs of these experiments matching the filter, newest first unless ordered otherwise."""
    clauses = search.parse_filter(filter_string, RUN_ATTRIBUTES)
    numbers: list[int | None] = []
    for experiment_id in experiment_ids:
        try:
            numbers.append(experiment_number(experiment_id))
        except NotFound:
            continue  # MLflow answers an unknown experiment with no runs
    if deleted_only:
        return [], None
    logged = logged_store.logged_runs(logged_store.run_ids_in(numbers))
    scores = logged_store.scores_of([r.run.id for r in logged if r.queue != MLFLOW_QUEUE])
    runs = [_entity(r, scores.get(r.run.id)) for r in logged]
    records = [_run_record(r) for r in runs]
    kept = [(r, rec) for r, rec in zip(runs, records, strict=True) if search.matches(clauses, rec)]
    ordered = search.order([r for r, _ in kept], [rec for _, rec in kept], order_by, RUN_ATTRIBUTES)
    return search.page(ordered, max_results, page_token)


def metric_history(
    run_id: str, key: str, *, max_results: int | None = None, page_token: str | None = None
) -> tuple[list[MetricOut], str | None]:
    """Every logged value of one metric (a trained run: its history series of that name)."""
    logged = logged_run(run_id)
    if not key:
        raise Invalid("Missing value for required parameter 'metric_key'")
    if logged.queue != MLFLOW_QUEUE:
        when = ms(logged.run.finished_at or logged.run.created_at) or 0
        series = store.get_history(logged.run.id, max_points=10**9, names=[key])
        values = [
            MetricOut.of(key, v, when, step)
            for s in series
            for step, v in zip(s.steps, s.values, strict=True)
        ]
        return search.page(values, max_results or max(len(values), 1), page_token)
    offset = search.offset(page_token)
    limit = None if max_results is None else max_results + 1
    points = logged_store.metric_history(logged.run.id, key, offset=offset, limit=limit)
    more = max_results is not None and len(points) > max_results
    points = points[:max_results] if more else points
    token = str(offset + len(points)) if more else None
    return [MetricOut.of(p.key, p.value, p.timestamp, p.step) for p in points], token


def logged_values(run_id: int) -> LoggedValues | None:
    """What the run page lists of a run logged from MLflow (None for any other run)."""
    logged = logged_store.logged_run(run_id)
    if logged is None or logged.queue != MLFLOW_QUEUE:
        return None
    used = config_from_params(logged.params, score_languages(m.key for m in logged.latest)).used
    kept = [
        (m.key, m.value, m.step)
        for m in logged.latest
        if score_key(m.key) is None and history_name(m.key) not in logged.history_names
    ]
    return LoggedValues(
        params=[(k, v, used.get(k)) for k, v in sorted(logged.params.items())],
        tags=sorted(logged.tags.items()),
        metrics=kept,
    )
