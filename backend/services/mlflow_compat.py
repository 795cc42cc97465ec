"""MLflow-compatible logging: the use cases behind /api/2.0/mlflow, so that a script calling
`mlflow.set_tracking_uri("http://xlt-lab:8000")` records into XLT Lab unchanged.

    experiments   MLflow experiments are XLT experiments (string ids of the same numbers); MLflow's
                  "Default" experiment "0" is XLT Lab's "no experiment"
    runs          a run created through MLflow is an XLT run on queue 'mlflow' (never sent to a
                  worker), running until the script ends it; its params, tags and metric values are
                  kept verbatim, and its config, per-language scores, loss history, summary and
                  average are derived from them (backend.services.mlflow_mapping) after every call
    reads         any XLT run reads as an MLflow run: a trained run's params are its flattened config
                  and its metrics its scores (`accuracy_de`) and average

Who may: everyone signed in reads; members create experiments and runs; writes to a run need its
owner or an admin (backend.services.permissions), as for XLT's own runs. Runs XLT Lab trained take
no MLflow writes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from backend import store
from backend.errors import Conflict, Invalid, NotFound
from backend.run_configs import flatten_config
from backend.run_ids import MAX_RUN_ID
from backend.schemas import ExperimentOut as XltExperiment
from backend.schemas import Principal, ScoreOut
from backend.services import mlflow_search as search
from backend.services.mlflow_entities import (
    ExperimentOut,
    KeyValue,
    MetricIn,
    MetricOut,
    MlflowRun,
    RunData,
    RunInfo,
)
from backend.services.mlflow_mapping import (
    TO_MLFLOW_STATUS,
    TO_XLT_STATUS,
    MappedConfig,
    config_from_params,
    history_name,
    is_history,
    score_key,
    score_languages,
    scores_from_metrics,
    summary_of,
)
from backend.services.permissions import require_owner, require_role
from backend.store import mlflow_runs as logged_store
from backend.store.common import MLFLOW_QUEUE
from backend.store.mlflow_runs import LoggedRun, MetricValue, ms_to_datetime
from worker.training.results import FINISHED_STATUSES

DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"
NOTE_TAG = "mlflow.note.content"  # MLflow's description of an experiment or run
RUN_NAME_TAG = "mlflow.runName"
USER_TAG = "mlflow.user"
XLT_TAG = "mlflow"  # every run logged from MLflow carries this XLT tag (the runs list filters on it)
# MLflow's own limits (mlflow/utils/validation.py), so a script that works against MLflow works here.
MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_BATCH = {"metrics": 1000, "params": 100, "tags": 100}
MAX_NAME_LENGTH = 200  # runs.name and experiments.name
_KEY = re.compile(r"^[\w\-./ :]+$")
RUN_ATTRIBUTES = {"run_id", "run_name", "status", "start_time", "end_time", "user_id", "experiment_id"}
EXPERIMENT_ATTRIBUTES = {"experiment_id", "name", "creation_time", "last_update_time"}


class AlreadyExists(Conflict):
    """An experiment of that name exists (MLflow: RESOURCE_ALREADY_EXISTS)."""


@dataclass(frozen=True)
class LoggedValues:
    """What an MLflow script logged to a run, for its run page: every param (and the config field it
    set, if any), the tags, and the latest value of each metric that is neither a score nor history."""

    params: list[tuple[str, str, str | None]] = field(default_factory=list)
    tags: list[tuple[str, str]] = field(default_factory=list)
    metrics: list[tuple[str, float, int]] = field(default_factory=list)


# ── ids, names, keys ─────────────────────────────────────────────────────────────────────────────


def _ms(dt: datetime | None) -> int | None:
    return None if dt is None else int(dt.timestamp() * 1000)


def _run_number(run_id: str) -> int:
    if not (run_id.isascii() and run_id.isdigit()) or int(run_id) > MAX_RUN_ID:
        raise NotFound(f"Run with id={run_id} not found")
    return int(run_id)


def _experiment_number(experiment_id: str) -> int | None:
    """None for MLflow's Default experiment ("0": runs of no experiment)."""
    if experiment_id == DEFAULT_EXPERIMENT_ID:
        return None
    if not (experiment_id.isascii() and experiment_id.isdigit()) or int(experiment_id) > MAX_RUN_ID:
        raise NotFound(f"No Experiment with id={experiment_id} exists")
    return int(experiment_id)


def _check_key(what: str, key: str) -> None:
    if not key:
        raise Invalid(f"Missing value for required parameter '{what}'")
    if len(key) > MAX_KEY_LENGTH:
        raise Invalid(f"{what} '{key[:50]}…' is longer than {MAX_KEY_LENGTH} characters")
    if not _KEY.match(key):
        raise Invalid(
            f"Invalid value \"{key}\" for parameter '{what}' supplied: names may only contain "
            "alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colons (:) and slashes (/)"
        )
    if any(part in ("..", ".") for part in key.split("/")) or key.startswith("/"):
        raise Invalid(f"Invalid value \"{key}\" for parameter '{what}' supplied: it must not be a path")


def _check_text(what: str, text: str, limit: int) -> None:
    if len(text) > limit:
        raise Invalid(f"{what}: value longer than {limit} characters")
    if "\x00" in text:
        raise Invalid(f"{what}: value holds a NUL character")


def _check_name(what: str, name: str) -> str:
    _check_text(what, name, MAX_KEY_LENGTH)
    name = name.strip()
    if not name:
        raise Invalid(f"Missing value for required parameter '{what}'")
    if len(name) > MAX_NAME_LENGTH:
        raise Invalid(f"{what}: longer than {MAX_NAME_LENGTH} characters")
    return name


def _xlt_tag(key: str, value: str) -> str | None:
    """A user tag as an XLT run tag ('team=nlp', or 'baseline' for an empty value); None for MLflow's."""
    if key.startswith("mlflow."):
        return None
    return (f"{key}={value}" if value else key)[:100]


# ── experiments ──────────────────────────────────────────────────────────────────────────────────

_DEFAULT = ExperimentOut(
    experiment_id=DEFAULT_EXPERIMENT_ID, name=DEFAULT_EXPERIMENT_NAME, creation_time=0, last_update_time=0
)


def _experiment(exp: XltExperiment) -> ExperimentOut:
    created = _ms(exp.created_at)
    tags = [KeyValue(key=NOTE_TAG, value=exp.description)] if exp.description else []
    return ExperimentOut(
        experiment_id=str(exp.id), name=exp.name, creation_time=created, last_update_time=created, tags=tags
    )


def create_experiment(name: str, *, tags: Mapping[str, str] = {}, actor: Principal) -> str:  # noqa: B006
    """A new XLT experiment; its MLflow id. Raises AlreadyExists when the name is taken."""
    require_role(actor, "member", "creating an experiment")
    name = _check_name("name", name)
    if name == DEFAULT_EXPERIMENT_NAME or logged_store.experiment_by_name(name) is not None:
        raise AlreadyExists(f"Experiment(name={name}) already exists.")
    return str(logged_store.create_experiment(name, tags.get(NOTE_TAG, "")).id)


def get_experiment(experiment_id: str) -> ExperimentOut:
    number = _experiment_number(experiment_id)
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


def _info(logged: LoggedRun) -> RunInfo:
    run = logged.run
    exp = DEFAULT_EXPERIMENT_ID if run.experiment_id is None else str(run.experiment_id)
    return RunInfo(
        run_id=str(run.id),
        run_uuid=str(run.id),
        experiment_id=exp,
        run_name=run.name,
        user_id=run.owner or logged.tags.get(USER_TAG, ""),
        status=TO_MLFLOW_STATUS[run.status],
        start_time=_ms(run.started_at or run.created_at),
        end_time=_ms(run.finished_at) if run.status in FINISHED_STATUSES else None,
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
    when = _ms(run.finished_at or run.created_at) or 0
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
        return MlflowRun(info=_info(logged), data=_logged_data(logged))
    return MlflowRun(info=_info(logged), data=_trained_data(logged, scores or []))


def _logged(run_id: str) -> LoggedRun:
    logged = logged_store.logged_run(_run_number(run_id))
    if logged is None:
        raise NotFound(f"Run with id={run_id} not found")
    return logged


def get_run(run_id: str) -> MlflowRun:
    logged = _logged(run_id)
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
            numbers.append(_experiment_number(experiment_id))
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
    logged = _logged(run_id)
    if not key:
        raise Invalid("Missing value for required parameter 'metric_key'")
    if logged.queue != MLFLOW_QUEUE:
        when = _ms(logged.run.finished_at or logged.run.created_at) or 0
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


# ── runs: writing ────────────────────────────────────────────────────────────────────────────────


def _writable(run_id: str, actor: Principal, doing: str) -> LoggedRun:
    logged = _logged(run_id)
    if logged.queue != MLFLOW_QUEUE:
        raise Invalid(
            f"Run with id={run_id} was trained by XLT Lab, not logged from MLflow: it takes no MLflow writes"
        )
    require_owner(actor, logged.run.owner_id, f"{doing} run {run_id}")
    return logged


def _derived(mapped: MappedConfig, name: str) -> dict[str, object]:
    """The run columns that follow from the mapped config."""
    config = {**mapped.config, "name": name} if mapped.complete else mapped.config
    return {
        "config": config,
        "task": mapped.task[:32],
        "model": mapped.model[:500],
        "method": mapped.method[:64],
        "seed": mapped.seed,
    }


def create_run(
    experiment_id: str,
    *,
    run_name: str | None = None,
    start_time: int | None = None,
    tags: Mapping[str, str] = {},  # noqa: B006
    actor: Principal,
) -> MlflowRun:
    """A running XLT run in that experiment (Default: none), owned by the caller."""
    require_role(actor, "member", "logging a run")
    number = _experiment_number(experiment_id)
    if number is not None and store.get_experiment(number) is None:
        raise NotFound(f"No Experiment with id={experiment_id} exists")
    for key, value in tags.items():
        _check_key("key", key)
        _check_text(f"Tag '{key}'", value, MAX_TAG_VALUE_LENGTH)
    _check_text("run_name", run_name or "", MAX_KEY_LENGTH)
    name = (run_name or tags.get(RUN_NAME_TAG) or "").strip()[:MAX_NAME_LENGTH]
    tags = {**tags, RUN_NAME_TAG: name} if name else dict(tags)
    mapped = config_from_params({})
    run_id = logged_store.create_logged_run(
        experiment_id=number,
        name=name,
        values=_derived(mapped, name),
        started_at=ms_to_datetime(start_time),
        owner_id=actor.id,
        tags=tags,
        xlt_tags=[XLT_TAG, *(t for k, v in tags.items() if (t := _xlt_tag(k, v)))],
    )
    return get_run(str(run_id))


def _newer(a: MetricValue, b: MetricValue | None) -> bool:
    return b is None or (a.step, a.timestamp) >= (b.step, b.timestamp)


def _check_batch(metrics: Sequence[MetricIn], params: Mapping[str, str], tags: Mapping[str, str]) -> None:
    for what, items in (("metrics", metrics), ("params", params), ("tags", tags)):
        if len(items) > MAX_BATCH[what]:
            raise Invalid(f"A batch logging request can contain at most {MAX_BATCH[what]} {what}")
    for m in metrics:
        _check_key("key", m.key)
    for key, value in params.items():
        _check_key("key", key)
        _check_text(f"Param '{key}'", value, MAX_PARAM_VALUE_LENGTH)
    for key, value in tags.items():
        _check_key("key", key)
        _check_text(f"Tag '{key}'", value, MAX_TAG_VALUE_LENGTH)


def _pairs(what: str, items: Sequence[KeyValue]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        if what == "params" and out.get(item.key, item.value) != item.value:
            raise Invalid(f"Duplicate parameter keys have been submitted: '{item.key}' with two values")
        out[item.key] = item.value
    return out


def log_batch(
    run_id: str,
    *,
    metrics: Sequence[MetricIn] = (),
    params: Sequence[KeyValue] = (),
    tags: Sequence[KeyValue] = (),
    actor: Principal,
) -> None:
    """Log to a run: metric values, new params (a logged param never changes: Invalid), tags; then
    derive the run's config, scores, summary and history from everything logged so far."""
    logged = _writable(run_id, actor, "logging to")
    param_map, tag_map = _pairs("params", params), _pairs("tags", tags)
    _check_batch(metrics, param_map, tag_map)
    changed = [(k, logged.params[k], v) for k, v in param_map.items() if logged.params.get(k, v) != v]
    if changed:
        key, old, new = changed[0]
        raise Invalid(
            f"Changing param values is not allowed. Param with key='{key}' was already logged with "
            f"value='{old}' for run ID='{run_id}'. Attempted logging new value '{new}'."
        )
    new_params = {k: v for k, v in param_map.items() if k not in logged.params}
    values = [MetricValue(key=m.key, value=m.value, timestamp=m.timestamp, step=m.step) for m in metrics]
    latest = {m.key: m for m in logged.latest}
    for m in values:
        if _newer(m, latest.get(m.key)):
            latest[m.key] = m
    run = logged.run
    name = tag_map.get(RUN_NAME_TAG, run.name).strip()[:MAX_NAME_LENGTH] or run.name
    run_values: dict[str, object] = {}
    scores = None
    if new_params or any(score_key(m.key) for m in values) or name != run.name:
        all_params = {**logged.params, **new_params}
        mapped = config_from_params(all_params, score_languages(latest))
        scores = scores_from_metrics({k: m.value for k, m in latest.items()}, mapped)
        summary = summary_of(scores, mapped)
        average = summary.average if summary.average is not None and math.isfinite(summary.average) else None
        run_values = {**_derived(mapped, name), "name": name, "summary": summary.model_dump(mode="json")}
        run_values["average"] = average
    history = [(history_name(m.key), m.step, m.value) for m in values if is_history(m.key, m.step)]
    stepped = {m.key: history_name(m.key) for m in values if m.step > 0 and is_history(m.key, m.step)}
    backfill = {
        key: series
        for key, series in stepped.items()
        if series not in logged.history_names and series not in ("loss", "lr")
    }
    removed = [t for k, v in tag_map.items() if k in logged.tags and (t := _xlt_tag(k, logged.tags[k]))]
    logged_store.record_batch(
        run.id,
        params=new_params,
        tags=tag_map,
        metrics=values,
        history=history,
        backfill=backfill,
        xlt_tags_added=[t for k, v in tag_map.items() if (t := _xlt_tag(k, v))],
        xlt_tags_removed=[t for t in removed if t not in {_xlt_tag(k, v) for k, v in tag_map.items()}],
        run_values=run_values or None,
        scores=scores,
    )


def delete_tag(run_id: str, key: str, *, actor: Principal) -> None:
    logged = _writable(run_id, actor, "changing the tags of")
    if key not in logged.tags:
        raise NotFound(f"No tag with name: {key} in run with id {run_id}")
    logged_store.delete_tag(logged.run.id, key, _xlt_tag(key, logged.tags[key]))


def update_run(
    run_id: str,
    *,
    status: str | None = None,
    end_time: int | None = None,
    run_name: str | None = None,
    actor: Principal,
) -> RunInfo:
    """end_run and renames: FINISHED → succeeded, FAILED → failed, KILLED → cancelled (finished at
    `end_time`), RUNNING → running again (MLflow lets a script resume an ended run)."""
    logged = _writable(run_id, actor, "updating")
    values: dict[str, object] = {}
    if status:
        if status not in TO_XLT_STATUS:
            raise Invalid(
                f"Invalid value \"{status}\" for parameter 'status': one of {', '.join(TO_XLT_STATUS)}"
            )
        xlt_status = TO_XLT_STATUS[status]
        values["status"] = xlt_status
        if xlt_status in FINISHED_STATUSES:
            values |= {"finished_at": ms_to_datetime(end_time) or datetime.now(UTC), "progress": 1.0}
            values["error_message"] = (
                f"the MLflow script ended the run as {status}" if status != "FINISHED" else None
            )
        else:
            values |= {"finished_at": None, "progress": 0.0, "error_message": None}
    elif end_time is not None:
        values["finished_at"] = ms_to_datetime(end_time)
    if run_name is not None and run_name.strip() and run_name.strip() != logged.run.name:
        log_batch(run_id, tags=[KeyValue(key=RUN_NAME_TAG, value=run_name.strip())], actor=actor)
    if values:
        logged_store.update_logged_run(logged.run.id, **values)
    return _info(_logged(run_id))
