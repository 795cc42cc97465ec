"""The store: the only module that writes SQL. Every function opens its own transaction and returns
plain pydantic objects (backend.schemas), never ORM rows.

Run lifecycle: create_run/create_sweep (queued) → claim_run (running) → record_progress (batched
loss points, progress, heartbeat; returns the cancel flag) → complete_run | fail_run | mark_cancelled.
"""

from __future__ import annotations

import itertools
import math
import secrets
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import and_, delete, exists, func, insert, or_, select, update
from sqlalchemy.orm import Session

from backend.db import session
from backend.models import Experiment, MetricPoint, Run, RunTag, Score, ShareLink, utcnow
from backend.schemas import ExperimentOut, MetricSeries, RunOut, RunPage, ScoreOut, ShareLinkOut
from worker.training.config import RunConfig
from worker.training.results import HistoryPoint, RunResult

RUN_COLUMNS = tuple(Run.__table__.c)
# Lists leave out the large per-run fields (summary JSON, traceback): get_run has them.
LIST_COLUMNS = tuple(c for c in Run.__table__.c if c.name not in ("summary", "traceback"))
FINISHED = ("succeeded", "failed", "cancelled")
SORTABLE = {
    "id": Run.id,
    "created_at": Run.created_at,
    "started_at": Run.started_at,
    "finished_at": Run.finished_at,
    "status": Run.status,
    "task": Run.task,
    "model": Run.model,
    "method": Run.method,
    "seed": Run.seed,
    "name": Run.name,
    "progress": Run.progress,
    "average": Run.average,
}


def _finite(value: float) -> bool:
    return math.isfinite(value)


def _json_safe(value: Any) -> Any:
    """JSON columns must not hold NaN/inf (PostgreSQL rejects them): those become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def _insert_many(s: Session, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """executemany straight on the driver: thousands of points without per-row ORM/compiler work."""
    if not rows:
        return
    conn = s.connection()
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
    conn.exec_driver_sql(sql, list(rows))


POINT_COLUMNS = ("run_id", "stage", "name", "step", "value")
SCORE_COLUMNS = ("run_id", "dataset", "language", "split", "metric", "value", "n")


def _aware(dt: datetime | None) -> datetime | None:
    return dt.replace(tzinfo=UTC) if dt is not None and dt.tzinfo is None else dt


def _run_out(run: Any, tags: list[str]) -> RunOut:
    """From a Run or a Core row of RUN_COLUMNS (rows skip the ORM's per-object cost in long lists)."""
    return RunOut(
        id=run.id,
        name=run.name,
        experiment_id=run.experiment_id,
        status=run.status,  # type: ignore[arg-type]
        task=run.task,
        model=run.model,
        method=run.method,
        seed=run.seed,
        config=run.config,
        progress=run.progress,
        stage=run.stage,
        error_message=run.error_message,
        traceback=getattr(run, "traceback", None),
        created_at=_aware(run.created_at),  # type: ignore[arg-type]
        started_at=_aware(run.started_at),
        finished_at=_aware(run.finished_at),
        heartbeat_at=_aware(run.heartbeat_at),
        worker_host=run.worker_host,
        task_id=run.task_id,
        attempts=run.attempts,
        cancel_requested=run.cancel_requested,
        tags=tags,
        notes=run.notes,
        average=run.average,
        summary=getattr(run, "summary", None),
    )


def _tags_for(s: Session, run_ids: Sequence[int]) -> dict[int, list[str]]:
    tags: dict[int, list[str]] = {rid: [] for rid in run_ids}
    if run_ids:
        rows = s.execute(
            select(RunTag.run_id, RunTag.tag).where(RunTag.run_id.in_(run_ids)).order_by(RunTag.tag)
        )
        for rid, tag in rows:
            tags[rid].append(tag)
    return tags


def _experiment_out(exp: Experiment, run_count: int) -> ExperimentOut:
    return ExperimentOut(
        id=exp.id,
        name=exp.name,
        created_at=_aware(exp.created_at),  # type: ignore[arg-type]
        run_count=run_count,
        description=exp.description or "",
    )


# ── creating runs ────────────────────────────────────────────────────────────────────────────────


def _new_run(
    config: RunConfig, queue: str, task_id: str, experiment_id: int | None, retry_of: int | None
) -> Run:
    return Run(
        experiment_id=experiment_id,
        retry_of=retry_of,
        name=config.name,
        status="queued",
        task=config.task,
        model=config.model,
        method=config.method_label,
        seed=config.train.seed,
        queue=queue,
        config=config.model_dump(mode="json"),
        task_id=task_id,
        created_at=utcnow(),
    )


def create_run(
    config: RunConfig,
    *,
    queue: str,
    task_id: str,
    experiment_id: int | None = None,
    tags: Iterable[str] = (),
    retry_of: int | None = None,
) -> RunOut:
    """Insert one queued run (and its tags) in one transaction."""
    with session() as s:
        run = _new_run(config, queue, task_id, experiment_id, retry_of)
        s.add(run)
        s.flush()
        tag_list = sorted(set(tags))
        if tag_list:
            s.execute(insert(RunTag), [{"run_id": run.id, "tag": t} for t in tag_list])
        return _run_out(run, tag_list)


def create_experiment(name: str, description: str = "", spec: dict[str, Any] | None = None) -> ExperimentOut:
    with session() as s:
        exp = Experiment(name=name, description=description, spec=spec, created_at=utcnow())
        s.add(exp)
        s.flush()
        return _experiment_out(exp, 0)


def create_sweep(
    name: str,
    description: str,
    spec: dict[str, Any],
    runs: Sequence[tuple[RunConfig, str, str]],
    tags: Iterable[str] = (),
) -> tuple[ExperimentOut, list[int]]:
    """One experiment and all its queued runs, (config, queue, task_id) each, in one transaction."""
    tag_list = sorted(set(tags))
    with session() as s:
        exp = Experiment(name=name, description=description, spec=spec, created_at=utcnow())
        s.add(exp)
        s.flush()
        rows = [_new_run(cfg, queue, task_id, exp.id, None) for cfg, queue, task_id in runs]
        s.add_all(rows)
        s.flush()
        if tag_list:
            s.execute(insert(RunTag), [{"run_id": r.id, "tag": t} for r in rows for t in tag_list])
        return _experiment_out(exp, len(rows)), [r.id for r in rows]


# ── reading runs ─────────────────────────────────────────────────────────────────────────────────


def get_run(run_id: int) -> RunOut | None:
    with session() as s:
        run = s.execute(select(*RUN_COLUMNS).where(Run.id == run_id)).first()
        return None if run is None else _run_out(run, _tags_for(s, [run_id])[run_id])


def get_runs(run_ids: Sequence[int]) -> list[RunOut]:
    """Runs by id, in the order asked (unknown ids are skipped)."""
    with session() as s:
        rows = {r.id: r for r in s.execute(select(*RUN_COLUMNS).where(Run.id.in_(run_ids)))}
        tags = _tags_for(s, list(rows))
        return [_run_out(rows[i], tags[i]) for i in run_ids if i in rows]


def list_runs(
    *,
    experiment_id: int | None = None,
    status: Sequence[str] | None = None,
    task: str | None = None,
    model: str | None = None,
    method: str | None = None,
    tag: str | None = None,
    seed: int | None = None,
    search: str | None = None,
    sort: str = "-created_at",
    page: int = 1,
    page_size: int = 50,
) -> RunPage:
    """Filtered, sorted, paginated runs with their averages: three queries whatever the page size.
    Items leave out `summary` and `traceback` (None; get_run has them).

    `sort` is a column name from SORTABLE, '-' in front for descending; ties break by id.
    Raises ValueError for an unknown sort key.
    """
    conds = []
    if experiment_id is not None:
        conds.append(Run.experiment_id == experiment_id)
    if status:
        conds.append(Run.status.in_(list(status)))
    if task:
        conds.append(Run.task == task)
    if model:
        conds.append(Run.model == model)
    if method:
        conds.append(Run.method == method)
    if seed is not None:
        conds.append(Run.seed == seed)
    if tag:
        conds.append(exists().where(and_(RunTag.run_id == Run.id, RunTag.tag == tag)))
    if search:
        pattern = f"%{search}%"
        conds.append(or_(Run.name.ilike(pattern), Run.model.ilike(pattern)))
    key = sort.lstrip("-")
    if key not in SORTABLE:
        raise ValueError(f"sort: unknown column '{key}'; allowed: {', '.join(SORTABLE)}")
    col = SORTABLE[key]
    desc = sort.startswith("-")
    order: list[Any] = [
        (col.desc() if desc else col.asc()).nulls_last(),
        Run.id.desc() if desc else Run.id.asc(),
    ]
    page = max(page, 1)
    with session() as s:
        total = s.scalar(select(func.count()).select_from(Run).where(*conds)) or 0
        rows = list(
            s.execute(
                select(*LIST_COLUMNS)
                .where(*conds)
                .order_by(*order)
                .offset((page - 1) * page_size)
                .limit(page_size)
            )
        )
        tags = _tags_for(s, [r.id for r in rows])
        return RunPage(
            items=[_run_out(r, tags[r.id]) for r in rows], total=total, page=page, page_size=page_size
        )


def get_scores(run_id: int) -> list[ScoreOut]:
    with session() as s:
        rows = s.execute(
            select(Score.dataset, Score.language, Score.split, Score.metric, Score.value, Score.n)
            .where(Score.run_id == run_id)
            .order_by(Score.dataset, Score.metric, Score.language)
        )
        return [
            ScoreOut(dataset=d, language=lang, split=sp, metric=m, value=v, n=n)
            for d, lang, sp, m, v, n in rows
        ]


def _downsample(n: int, max_points: int) -> list[int]:
    if n <= max_points:
        return list(range(n))
    return sorted({round(i * (n - 1) / (max_points - 1)) for i in range(max_points)})


def get_history(
    run_id: int, max_points: int = 1000, names: Sequence[str] | None = None
) -> list[MetricSeries]:
    """A run's (stage, name) series (all, or those in `names`), evenly down-sampled to at most
    `max_points` each, first and last point kept."""
    query = select(MetricPoint.name, MetricPoint.stage, MetricPoint.step, MetricPoint.value).where(
        MetricPoint.run_id == run_id
    )
    if names:
        query = query.where(MetricPoint.name.in_(list(names)))
    with session() as s:  # Core on the connection: no ORM row processing for thousands of points
        rows = (
            s.connection()
            .execute(query.order_by(MetricPoint.name, MetricPoint.stage, MetricPoint.step))
            .all()
        )
    out = []
    for (name, stage), group in itertools.groupby(rows, key=lambda r: (r[0], r[1])):
        points = list(group)
        if len(points) > max_points:
            points = [points[i] for i in _downsample(len(points), max_points)]
        out.append(
            MetricSeries(stage=stage, name=name, steps=[p[2] for p in points], values=[p[3] for p in points])
        )
    return out


class CompareRun(NamedTuple):
    """What grouping needs of a run (lighter than RunOut: compare stays fast for many runs)."""

    id: int
    task: str
    model: str
    method: str
    seed: int
    config: dict[str, Any]


def compare_inputs(
    run_ids: Sequence[int], metric: str
) -> tuple[list[CompareRun], list[tuple[int, str, str, float]]]:
    """The runs (in the order asked) and their (run_id, dataset, language, value) rows of one metric."""
    with session() as s:
        conn = s.connection()
        found = {
            r[0]: CompareRun(*r)
            for r in conn.execute(
                select(Run.id, Run.task, Run.model, Run.method, Run.seed, Run.config).where(
                    Run.id.in_(run_ids)
                )
            )
        }
        rows = conn.execute(
            select(Score.run_id, Score.dataset, Score.language, Score.value).where(
                Score.run_id.in_(list(found)), Score.metric == metric
            )
        ).all()
    return [found[i] for i in run_ids if i in found], [(r, d, lang, v) for r, d, lang, v in rows]


def run_ids_of_experiment(experiment_id: int, status: Sequence[str] = ("succeeded",)) -> list[int]:
    with session() as s:
        return list(
            s.scalars(
                select(Run.id)
                .where(Run.experiment_id == experiment_id, Run.status.in_(list(status)))
                .order_by(Run.id)
            )
        )


def list_experiments() -> list[ExperimentOut]:
    with session() as s:
        counts = select(Run.experiment_id, func.count().label("n")).group_by(Run.experiment_id).subquery()
        rows = s.execute(
            select(Experiment, func.coalesce(counts.c.n, 0))
            .outerjoin(counts, counts.c.experiment_id == Experiment.id)
            .order_by(Experiment.id.desc())
        ).all()
        return [_experiment_out(exp, n) for exp, n in rows]


def get_experiment(experiment_id: int) -> ExperimentOut | None:
    with session() as s:
        exp = s.get(Experiment, experiment_id)
        if exp is None:
            return None
        n = s.scalar(select(func.count()).select_from(Run).where(Run.experiment_id == experiment_id)) or 0
        return _experiment_out(exp, n)


# ── the worker's side ────────────────────────────────────────────────────────────────────────────


def claim_run(run_id: int, host: str, task_id: str | None, stale_after: int = 600) -> RunConfig | None:
    """Mark a queued run running (or re-claim one whose worker stopped beating); None if not ours to run."""
    now = utcnow()
    stale = now - timedelta(seconds=stale_after)
    with session() as s:
        claimed = s.execute(
            update(Run)
            .where(
                Run.id == run_id,
                or_(Run.status == "queued", and_(Run.status == "running", Run.heartbeat_at < stale)),
                Run.cancel_requested.is_(False),
            )
            .values(
                status="running",
                started_at=now,
                heartbeat_at=now,
                worker_host=host,
                task_id=task_id or Run.task_id,
                attempts=Run.attempts + 1,
                progress=0.0,
            )
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return RunConfig.model_validate(s.scalar(select(Run.config).where(Run.id == run_id)))


def record_progress(
    run_id: int,
    *,
    progress: float | None = None,
    stage: str | None = None,
    points: Sequence[tuple[str, str, int, float]] = (),
) -> bool:
    """Write a batch of (stage, name, step, value) points, progress and heartbeat in one transaction.

    Returns the run's cancel flag, so the reporter learns of a cancel with the same round trip.
    """
    values: dict[str, Any] = {"heartbeat_at": utcnow()}
    if progress is not None:
        values["progress"] = progress
    if stage is not None:
        values["stage"] = stage
    rows = [
        (run_id, st, nm, sp, v)
        for st, nm, sp, v in points
        if _finite(v)  # a diverged (NaN) loss is a gap in the chart, not a failed run
    ]
    with session() as s:
        _insert_many(s, "metric_points", POINT_COLUMNS, rows)
        s.execute(update(Run).where(Run.id == run_id).values(**values))
        return bool(s.scalar(select(Run.cancel_requested).where(Run.id == run_id)))


def is_cancel_requested(run_id: int) -> bool:
    with session() as s:
        return bool(s.scalar(select(Run.cancel_requested).where(Run.id == run_id)))


def _task_average(task: str, split: str, scores: Iterable[Any]) -> float | None:
    values = [x.value for x in scores if x.dataset == task and x.metric == "accuracy" and x.split == split]
    return sum(values) / len(values) if values else None


def _history_rows(run_id: int, history: Sequence[HistoryPoint]) -> list[tuple[Any, ...]]:
    rows = []
    for p in history:
        for name, value in (("loss", p.loss), ("lr", p.lr)):
            if _finite(value):
                rows.append((run_id, p.stage, name, p.step, value))
    return rows


def complete_run(run_id: int, result: RunResult, *, include_history: bool = False) -> None:
    """Store a finished run: scores (one batch insert), summary, average, status. One transaction.

    `include_history` also stores result.history as loss/lr points (imports; the worker streams them instead).
    """
    config = result.config
    summary = result.summary.model_dump(mode="json")
    for extra in ("selected_checkpoint", "timings", "environment", "generalized", "augmentation"):
        value = getattr(result, extra)
        summary[extra] = value.model_dump(mode="json") if hasattr(value, "model_dump") else value
    summary = _json_safe(summary)
    scores = [sc for sc in result.scores if _finite(sc.value)]  # e.g. pearson of a constant prediction
    with session() as s:
        _insert_many(
            s,
            "scores",
            SCORE_COLUMNS,
            [(run_id, sc.dataset, sc.language, sc.split, sc.metric, sc.value, sc.n) for sc in scores],
        )
        if include_history:
            _insert_many(s, "metric_points", POINT_COLUMNS, _history_rows(run_id, result.history))
        split = (config.get("eval") or {}).get("split", "test")
        now = utcnow()
        s.execute(
            update(Run)
            .where(Run.id == run_id)
            .values(
                status=result.status,
                progress=1.0,
                finished_at=now,
                heartbeat_at=now,
                summary=summary,
                average=_task_average(config.get("task", ""), split, scores),
            )
        )


def fail_stale_runs(stale_after: int) -> list[int]:
    """Runs marked running whose worker stopped beating for `stale_after` seconds become failed."""
    cutoff = utcnow() - timedelta(seconds=stale_after)
    with session() as s:
        ids = list(s.scalars(select(Run.id).where(Run.status == "running", Run.heartbeat_at < cutoff)))
        if ids:
            s.execute(
                update(Run)
                .where(Run.id.in_(ids), Run.status == "running")
                .values(
                    status="failed",
                    error_message=f"worker lost: no heartbeat for {stale_after} s",
                    finished_at=utcnow(),
                )
            )
        return ids


def fail_run(run_id: int, message: str, traceback: str | None = None) -> None:
    now = utcnow()
    with session() as s:
        s.execute(
            update(Run)
            .where(Run.id == run_id)
            .values(
                status="failed", error_message=message, traceback=traceback, finished_at=now, heartbeat_at=now
            )
        )


def mark_cancelled(run_id: int) -> None:
    now = utcnow()
    with session() as s:
        s.execute(
            update(Run).where(Run.id == run_id).values(status="cancelled", finished_at=now, heartbeat_at=now)
        )


def request_cancel(run_id: int) -> RunOut | None:
    """Cancel: a queued run becomes cancelled at once; a running one gets the flag its worker polls."""
    with session() as s:
        s.execute(
            update(Run)
            .where(Run.id == run_id, Run.status.in_(("queued", "running")))
            .values(cancel_requested=True)
        )
        s.execute(
            update(Run)
            .where(Run.id == run_id, Run.status == "queued")
            .values(status="cancelled", finished_at=utcnow())
        )
    return get_run(run_id)


# ── tags and notes ───────────────────────────────────────────────────────────────────────────────


def set_tags(run_id: int, tags: Iterable[str]) -> list[str]:
    tag_list = sorted({t.strip() for t in tags if t.strip()})
    with session() as s:
        s.execute(delete(RunTag).where(RunTag.run_id == run_id))
        if tag_list:
            s.execute(insert(RunTag), [{"run_id": run_id, "tag": t} for t in tag_list])
    return tag_list


def set_notes(run_id: int, notes: str) -> None:
    with session() as s:
        s.execute(update(Run).where(Run.id == run_id).values(notes=notes))


def list_tags() -> list[str]:
    with session() as s:
        return list(s.scalars(select(RunTag.tag).distinct().order_by(RunTag.tag)))


# ── share links ──────────────────────────────────────────────────────────────────────────────────


def _share_out(link: ShareLink) -> ShareLinkOut:
    return ShareLinkOut(
        token=link.token,
        kind=link.kind,
        view=link.view,
        created_at=_aware(link.created_at),  # type: ignore[arg-type]
        expires_at=_aware(link.expires_at),
        revoked=link.revoked,
    )


def create_share_link(kind: str, view: dict[str, Any], expires_at: datetime | None = None) -> ShareLinkOut:
    """A read-only link; the token carries 192 random bits (secrets.token_urlsafe(24))."""
    with session() as s:
        link = ShareLink(
            token=secrets.token_urlsafe(24),
            kind=kind,
            view=view,
            created_at=utcnow(),
            expires_at=expires_at,
            revoked=False,
        )
        s.add(link)
        s.flush()
        return _share_out(link)


def list_share_links() -> list[ShareLinkOut]:
    with session() as s:
        return [_share_out(x) for x in s.scalars(select(ShareLink).order_by(ShareLink.created_at.desc()))]


def revoke_share_link(token: str) -> bool:
    with session() as s:
        return s.execute(update(ShareLink).where(ShareLink.token == token).values(revoked=True)).rowcount == 1  # type: ignore[attr-defined]


def get_share_link(token: str) -> ShareLinkOut | None:
    """The link if it exists, is not revoked and has not expired; otherwise None."""
    with session() as s:
        link = s.get(ShareLink, token)
        if link is None or link.revoked:
            return None
        expires = _aware(link.expires_at)
        if expires is not None and expires <= datetime.now(UTC):
            return None
        return _share_out(link)


# ── health ───────────────────────────────────────────────────────────────────────────────────────


def ping() -> None:
    with session() as s:
        s.execute(select(1))


def run_exists(run_id: int) -> bool:
    with session() as s:
        return s.scalar(select(Run.id).where(Run.id == run_id)) is not None


def import_result(
    result: RunResult, *, experiment_id: int | None = None, tags: Iterable[str] = (), queue: str = "import"
) -> int:
    """Store a finished results.json as a new run (benchmarks, `xlt` imports, seeded tests)."""
    config = RunConfig.model_validate(result.config)
    run = create_run(config, queue=queue, task_id="", experiment_id=experiment_id, tags=tags)
    complete_run(run.id, result, include_history=True)
    return run.id
