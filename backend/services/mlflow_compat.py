"""MLflow-compatible logging, the writing side: the use cases behind /api/2.0/mlflow that create
experiments and runs and log to them, so that a script calling
`mlflow.set_tracking_uri("http://xlt-lab:8000")` records into XLT Lab unchanged. Reads (get, search,
metric history) are backend.services.mlflow_views.

    experiments   MLflow experiments are XLT experiments (string ids of the same numbers); MLflow's
                  "Default" experiment "0" is XLT Lab's "no experiment"
    runs          a run created through MLflow is an XLT run on queue 'mlflow' (never sent to a
                  worker), running until the script ends it; its params, tags and metric values are
                  kept verbatim, and its config, per-language scores, loss history, summary and
                  average are derived from them (backend.services.mlflow_mapping) after every call
    user tags     also become XLT tags (`team=nlp`), following their latest value; every such run
                  carries the XLT tag `mlflow`

Who may: members create experiments and runs; writes to a run need its owner or an admin
(backend.services.permissions), as for XLT's own runs. Runs XLT Lab trained take no MLflow writes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from backend import store
from backend.errors import Conflict, Invalid, NotFound
from backend.schemas import Principal
from backend.services.mlflow_entities import (
    DEFAULT_EXPERIMENT_NAME,
    NOTE_TAG,
    RUN_NAME_TAG,
    KeyValue,
    MetricIn,
    MlflowRun,
    RunInfo,
    experiment_number,
)
from backend.services.mlflow_mapping import (
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
from backend.services.mlflow_views import get_run, logged_run, run_info
from backend.services.permissions import require_owner, require_role
from backend.store import mlflow_runs as logged_store
from backend.store.common import MLFLOW_QUEUE
from backend.store.mlflow_runs import LoggedRun, MetricValue, ms_to_datetime
from worker.training.results import FINISHED_STATUSES

XLT_TAG = "mlflow"  # every run logged from MLflow carries this XLT tag (the runs list filters on it)
# MLflow's own limits (mlflow/utils/validation.py), so a script that works against MLflow works here.
MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_BATCH = {"metrics": 1000, "params": 100, "tags": 100}
MAX_NAME_LENGTH = 200  # runs.name and experiments.name
_KEY = re.compile(r"^[\w\-./ :]+$")


class AlreadyExists(Conflict):
    """An experiment of that name exists (MLflow: RESOURCE_ALREADY_EXISTS)."""


# ── names and keys ───────────────────────────────────────────────────────────────────────────────


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


def create_experiment(name: str, *, tags: Mapping[str, str] = {}, actor: Principal) -> str:  # noqa: B006
    """A new XLT experiment; its MLflow id. Raises AlreadyExists when the name is taken."""
    require_role(actor, "member", "creating an experiment")
    name = _check_name("name", name)
    if name == DEFAULT_EXPERIMENT_NAME or logged_store.experiment_by_name(name) is not None:
        raise AlreadyExists(f"Experiment(name={name}) already exists.")
    return str(logged_store.create_experiment(name, tags.get(NOTE_TAG, "")).id)


# ── runs: writing ────────────────────────────────────────────────────────────────────────────────


def _writable(run_id: str, actor: Principal, doing: str) -> LoggedRun:
    logged = logged_run(run_id, with_metrics=False)
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
    number = experiment_number(experiment_id)
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
    run = logged.run
    name = tag_map.get(RUN_NAME_TAG, run.name).strip()[:MAX_NAME_LENGTH] or run.name
    run_values: dict[str, object] = {}
    scores = None
    if new_params or any(score_key(m.key) for m in values) or name != run.name:
        # The per-language metrics' latest values (logged before, or now) make the scores.
        earlier = [k for k in logged_store.metric_keys(run.id) if score_key(k)]
        latest = {m.key: m for m in logged_store.latest_values(run.id, earlier)}
        for m in values:
            if score_key(m.key) and _newer(m, latest.get(m.key)):
                latest[m.key] = m
        mapped = config_from_params({**logged.params, **new_params}, score_languages(latest))
        scores = scores_from_metrics({k: m.value for k, m in latest.items()}, mapped)
        summary = summary_of(scores, mapped)
        average = summary.average if summary.average is not None and math.isfinite(summary.average) else None
        run_values = {**_derived(mapped, name), "name": name, "summary": summary.model_dump(mode="json")}
        run_values["average"] = average
    history = [(history_name(m.key), m.step, m.value) for m in values if is_history(m.key, m.step)]
    # A metric first logged at step 0 joins the history once it is logged at a later step: with the
    # step-0 value, unless its series exists already (losses and learning rates always have theirs).
    stepped = {
        m.key: history_name(m.key)
        for m in values
        if m.step > 0 and is_history(m.key, m.step) and history_name(m.key) not in ("loss", "lr")
    }
    present = logged_store.series_present(run.id, stepped.values())
    backfill = {key: series for key, series in stepped.items() if series not in present}
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
    return run_info(logged_run(run_id, with_metrics=False))
