"""Runs: submit one or a sweep, retry, cancel, tag and annotate; read runs and their results.

Submitting inserts the queued run(s) first and sends the task(s) only after the commit, so a worker
never receives a run it cannot find. The database is the queue of record: when the broker is
unreachable the run stays queued, "waiting for the queue", and a dispatcher (worker/dispatcher.py)
sends it once the broker answers; the caller gets the run and a message saying so.

Every use case that changes something takes the `actor` (backend.schemas.Principal) and checks its
permission here (backend.services.permissions), so the API and the pages cannot differ on it. The
run records its launcher as owner (none for the implicit local admin of a server without accounts).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter, ValidationError

from backend import queue, store
from backend.errors import Conflict, Invalid, NotFound
from backend.run_configs import ConfigError, check_paths, validate_config, validate_sweep
from backend.schemas import (
    MAX_TAGS,
    TEXT_MAX_LENGTH,
    ExperimentOut,
    MetricSeries,
    Principal,
    RunCreated,
    RunOut,
    RunPage,
    ScoreOut,
    SweepCreated,
    Tag,
    UserOut,
)
from backend.services.mlflow_views import LoggedValues, logged_values
from backend.services.permissions import require_owner, require_role
from backend.settings import get_settings
from backend.store import users as user_store
from worker.training.config import RunConfig, format_validation_error
from worker.training.results import ACTIVE_STATUSES, RUN_STATUSES

_TAGS = TypeAdapter(list[Tag])


def checked_tags(tags: Iterable[str]) -> list[str]:
    """Tags as stored: stripped, each 1–100 characters without NUL, at most MAX_TAGS; Invalid otherwise."""
    try:
        cleaned = _TAGS.validate_python([t for t in tags if not isinstance(t, str) or t.strip()])
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "".join(f"[{p}]" for p in first["loc"])
        raise Invalid(f"tags{where}: {str(first['msg']).removeprefix('Value error, ')}") from None
    unique = sorted(set(cleaned))
    if len(unique) > MAX_TAGS:
        raise Invalid(f"tags: at most {MAX_TAGS} tags on a run")
    return unique


# ── submitting ───────────────────────────────────────────────────────────────────────────────────


def _send(run_id: int, queue_name: str, task_id: str) -> str | None:
    """Send a committed run's task; when the broker is unreachable the run waits for the queue.
    Returns why it waits, or None when it was sent."""
    try:
        queue.enqueue_run(run_id, queue_name, task_id)
    except Exception as exc:
        reason = f"broker unreachable: {exc}"
        store.release_dispatch(run_id, reason)
        return reason
    return None


def _waiting_message(what: str, reason: str) -> str:
    return f"{what} waiting for the queue ({reason}); sent as soon as the broker answers"


def _submit(
    config: RunConfig,
    *,
    experiment_id: int | None,
    tags: Sequence[str],
    owner_id: int | None,
    retry_of: int | None = None,
) -> RunCreated:
    name = queue.queue_for(config)
    task_id = queue.new_task_id()
    run = store.create_run(
        config,
        queue=name,
        task_id=task_id,
        experiment_id=experiment_id,
        tags=tags,
        retry_of=retry_of,
        owner_id=owner_id,
    )
    reason = _send(run.id, name, task_id)
    message = None if reason is None else _waiting_message(f"run {run.id} is", reason)
    return RunCreated(id=run.id, status="queued", queue=name, experiment_id=experiment_id, message=message)


def submit_run(
    config: RunConfig | Mapping[str, Any],
    *,
    actor: Principal,
    experiment_id: int | None = None,
    tags: Sequence[str] = (),
) -> RunCreated:
    """Validate (a JSON object, or an already validated config), insert the queued run, send its task.

    Raises Forbidden below the member role, Invalid naming the field (nothing stored). A broker that
    is down is no error: the run is stored and waits for the queue (RunCreated.message says so).
    """
    require_role(actor, "member", "launching a run")
    settings = get_settings()
    parsed = config if isinstance(config, RunConfig) else validate_config(config, settings.data_dir)
    check_paths(parsed, settings.path_roots)
    tag_list = checked_tags(tags)
    if experiment_id is not None and store.get_experiment(experiment_id) is None:
        raise Invalid(f"experiment_id: no experiment {experiment_id}")
    return _submit(parsed, experiment_id=experiment_id, tags=tag_list, owner_id=actor.id)


def submit_sweep(
    *,
    name: str,
    base: Mapping[str, Any],
    grid: Mapping[str, list[Any]],
    actor: Principal,
    description: str = "",
    tags: Sequence[str] = (),
) -> SweepCreated:
    """Every combination of `grid` over `base` as one experiment; all validated before any is stored."""
    require_role(actor, "member", "launching a sweep")
    tags = checked_tags(tags)
    configs = validate_sweep(dict(base), dict(grid), get_settings().data_dir)
    spec = {"base": dict(base), "grid": dict(grid)}
    return launch_experiment(name, description, spec, configs, kind="sweep", tags=tags, owner_id=actor.id)


def launch_experiment(
    name: str,
    description: str,
    spec: Mapping[str, Any],
    configs: Sequence[RunConfig],
    *,
    kind: str,
    tags: Sequence[str],
    owner_id: int | None,
) -> SweepCreated:
    """Store one experiment of `kind` with all its validated runs (one transaction), then send each
    run's task; when the broker is down, the rest wait for the queue without a try each."""
    roots = get_settings().path_roots
    for i, config in enumerate(configs):
        try:
            check_paths(config, roots)
        except ConfigError as exc:
            raise ConfigError(f"runs[{i}]: {exc.message}") from None
    planned = [(cfg, queue.queue_for(cfg), queue.new_task_id()) for cfg in configs]
    experiment, run_ids = store.create_sweep(
        name, description, dict(spec), planned, tags=tags, owner_id=owner_id, kind=kind
    )
    for i, (run_id, (_cfg, queue_name, task_id)) in enumerate(zip(run_ids, planned, strict=True)):
        reason = _send(run_id, queue_name, task_id)
        if reason is not None:  # the broker is down: the rest wait too, without a try each
            for later in run_ids[i + 1 :]:
                store.release_dispatch(later, reason)
            message = _waiting_message(f"{len(run_ids) - i} of {len(run_ids)} runs are", reason)
            return SweepCreated(experiment_id=experiment.id, run_ids=run_ids, message=message)
    return SweepCreated(experiment_id=experiment.id, run_ids=run_ids)


def retry_run(run_id: int, *, actor: Principal) -> RunCreated:
    """A new queued run with the same config, experiment and tags (`retry_of` points back), owned by
    whoever retried it. Members retry their own runs; admins any."""
    run = get_run(run_id)
    require_owner(actor, run.owner_id, f"retrying run {run_id}")
    try:  # an MLflow script's run may hold no complete config; a stored one may predate a bound
        config = RunConfig.model_validate(run.config)
    except ValidationError as exc:
        origin = " (it was logged from MLflow)" if "mlflow" in run.tags else ""
        raise Conflict(
            f"run {run_id} has no complete config to train again{origin}: {format_validation_error(exc)}"
        ) from None
    check_paths(config, get_settings().path_roots)
    return _submit(config, experiment_id=run.experiment_id, tags=run.tags, retry_of=run_id, owner_id=actor.id)


# ── changing a run ───────────────────────────────────────────────────────────────────────────────


def cancel_run(run_id: int, *, actor: Principal) -> RunOut:
    """A queued run is cancelled at once; a running one stops at its worker's next flush."""
    run = get_run(run_id)
    require_owner(actor, run.owner_id, f"cancelling run {run_id}")
    if run.status not in ACTIVE_STATUSES:
        raise Conflict(f"run {run_id} is already {run.status}")
    cancelled = store.request_cancel(run_id)
    if cancelled is None:
        raise NotFound(f"run {run_id} not found")
    return cancelled


def set_tags(run_id: int, tags: Iterable[str], *, actor: Principal) -> list[str]:
    """Replace the run's tags; returns them sorted and de-duplicated."""
    require_owner(actor, get_run(run_id).owner_id, f"tagging run {run_id}")
    return store.set_tags(run_id, checked_tags(tags))


def set_notes(run_id: int, notes: str, *, actor: Principal) -> RunOut:
    require_owner(actor, get_run(run_id).owner_id, f"annotating run {run_id}")
    if len(notes) > TEXT_MAX_LENGTH or "\x00" in notes:
        raise Invalid(f"notes: at most {TEXT_MAX_LENGTH} characters, no NUL")
    store.set_notes(run_id, notes)
    return get_run(run_id)


# ── reading runs ─────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class RunQuery:
    """Filters, sort and page of a run list (the API's query parameters and the runs table's)."""

    experiment_id: int | None = None
    statuses: tuple[str, ...] = ()
    task: str | None = None
    model: str | None = None
    method: str | None = None
    tag: str | None = None
    seed: int | None = None
    search: str | None = None
    owner: str | None = None  # a user name
    sort: str = "-created_at"
    page: int = 1
    page_size: int = 50


@dataclass(frozen=True)
class RunsTable:
    """The runs table page: one page of runs and what its filters offer."""

    page: RunPage
    experiments: list[ExperimentOut]
    tags: list[str]
    owners: list[UserOut] = field(default_factory=list)


@dataclass(frozen=True)
class RunDetails:
    """One run with its scores and (down-sampled) loss/lr/dev series, and the attempts it may take;
    `logged`: what an MLflow script logged to it verbatim (None for runs XLT Lab trained)."""

    run: RunOut
    scores: list[ScoreOut]
    history: list[MetricSeries] = field(default_factory=list)
    max_attempts: int = 3
    logged: LoggedValues | None = None

    @property
    def queue_note(self) -> str | None:
        """Where an active run stands with the queue, for a person: waiting for the broker,
        re-queued after a lost worker, or which attempt is running."""
        run = self.run
        if run.waiting_for_queue:
            why = f" ({run.dispatch_error})" if run.dispatch_error else ""
            return f"waiting for the queue{why}; sent as soon as the broker answers"
        if run.status == "queued" and run.attempts:
            return f"{run.error_message or 're-queued'} (attempt {run.attempts} of {self.max_attempts} done)"
        if run.status == "running" and self.logged is not None:
            return "logging from an MLflow script: it ends the run"
        if run.status == "running":
            return f"attempt {run.attempts} of {self.max_attempts}"
        return None


def _require_run(run_id: int) -> None:
    if not store.run_exists(run_id):
        raise NotFound(f"run {run_id} not found")


def get_run(run_id: int) -> RunOut:
    run = store.get_run(run_id)
    if run is None:
        raise NotFound(f"run {run_id} not found")
    return run


def get_runs(run_ids: Sequence[int]) -> list[RunOut]:
    """Runs by id in the order asked; ids that are no run are left out (a live feed of a table)."""
    return store.get_runs(run_ids)


def list_runs(query: RunQuery) -> RunPage:
    """Raises Invalid for an unknown status or sort column."""
    unknown = [s for s in query.statuses if s not in RUN_STATUSES]
    if unknown:
        raise Invalid(f"status: unknown {', '.join(unknown)}; allowed: {', '.join(RUN_STATUSES)}")
    owner_id = None
    if query.owner:
        owner = user_store.get_user_by_name(query.owner)
        if owner is None:
            raise Invalid(f"owner: no user '{query.owner}'")
        owner_id = owner.id
    try:
        return store.list_runs(
            experiment_id=query.experiment_id,
            status=list(query.statuses) or None,
            task=query.task,
            model=query.model,
            method=query.method,
            tag=query.tag,
            seed=query.seed,
            search=query.search,
            owner_id=owner_id,
            sort=query.sort,
            page=query.page,
            page_size=query.page_size,
        )
    except ValueError as exc:  # unknown sort column
        raise Invalid(str(exc)) from exc


EXPERIMENT_CHOICES = 100  # the runs table's experiment filter offers the newest ones (and the chosen one)


def runs_table(query: RunQuery) -> RunsTable:
    experiments = store.list_experiments(limit=EXPERIMENT_CHOICES)
    if query.experiment_id is not None and all(e.id != query.experiment_id for e in experiments):
        chosen = store.get_experiment(query.experiment_id)
        experiments += [chosen] if chosen is not None else []
    return RunsTable(
        page=list_runs(query),
        experiments=experiments,
        tags=store.list_tags(),
        owners=user_store.list_users(),
    )


def get_scores(run_id: int) -> list[ScoreOut]:
    scores = store.get_scores(run_id)
    if not scores:
        _require_run(run_id)
    return scores


def get_history(run_id: int, *, max_points: int = 1000, names: Sequence[str] = ()) -> list[MetricSeries]:
    history = store.get_history(run_id, max_points=max_points, names=list(names) or None)
    if not history:
        _require_run(run_id)
    return history


def run_details(run_id: int, *, history_points: int = 500, with_history: bool = True) -> RunDetails:
    """What the run page (and its exports and live feed) shows."""
    run = get_run(run_id)
    history = store.get_history(run_id, max_points=history_points) if with_history else []
    return RunDetails(
        run=run,
        scores=store.get_scores(run_id),
        history=history,
        max_attempts=get_settings().max_attempts,
        logged=logged_values(run_id),
    )
