"""Runs logged through the MLflow API: their rows, what the script sent verbatim (mlflow_params,
mlflow_tags, mlflow_metrics), and the XLT view derived from it (config, scores, history, summary).

A logged run is an ordinary `runs` row on queue MLFLOW_QUEUE: no task is ever sent for it and the
reaper leaves it alone (it has no worker to beat). backend.services.mlflow_compat decides what to
write; every function here is one transaction.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import delete, func, insert, or_, select, update

from backend.db import session
from backend.models import (
    Experiment,
    MlflowMetric,
    MlflowParam,
    MlflowTag,
    Run,
    RunTag,
    Score,
    utcnow,
)
from backend.schemas import ExperimentOut, RunOut, ScoreOut
from backend.store import series
from backend.store.common import (
    MLFLOW_QUEUE,
    RUN_COLUMNS,
    SCORE_COLUMNS,
    experiment_out,
    finite,
    insert_many,
    json_safe,
    run_out,
    tags_for,
)
from worker.training.results import Score as ScoreIn

MAX_FLOAT = 1.7976931348623157e308  # ±inf are stored as ±this, as MLflow's own store does


class MetricValue(BaseModel):
    """One logged value of a metric (NaN allowed, as in MLflow)."""

    key: str
    value: float
    timestamp: int  # ms since the epoch
    step: int = 0


class LoggedRun(BaseModel):
    """A run in MLflow's terms: the row, and what was logged to it (`latest`: each metric's latest value)."""

    run: RunOut
    queue: str
    params: dict[str, str] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    latest: list[MetricValue] = Field(default_factory=list)
    history_names: set[str] = Field(default_factory=set)  # series already stored (metric_chunks)


def ms_to_datetime(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC)


def _stored(value: float) -> float | None:
    if math.isnan(value):
        return None  # SQLite stores NaN as NULL anyway; NULL reads back as NaN
    return max(-MAX_FLOAT, min(MAX_FLOAT, value))


def _read(value: float | None) -> float:
    return math.nan if value is None else value


# ── experiments ──────────────────────────────────────────────────────────────────────────────────


def experiment_by_name(name: str) -> ExperimentOut | None:
    """The newest experiment of that name (XLT names need not be unique; MLflow's are)."""
    with session() as s:
        exp = s.scalars(
            select(Experiment).where(Experiment.name == name).order_by(Experiment.id.desc())
        ).first()
        if exp is None:
            return None
        n = s.scalar(select(func.count()).select_from(Run).where(Run.experiment_id == exp.id)) or 0
        return experiment_out(exp, n)


def create_experiment(name: str, description: str = "") -> ExperimentOut:
    with session() as s:
        exp = Experiment(name=name, description=description, kind="mlflow", created_at=utcnow())
        s.add(exp)
        s.flush()
        return experiment_out(exp, 0)


def run_ids_in(experiment_ids: Sequence[int | None]) -> list[int]:
    """Runs of these experiments (None: runs of no experiment, MLflow's "Default"), newest first."""
    ids = [i for i in experiment_ids if i is not None]
    conds = [Run.experiment_id.in_(ids)] if ids else []
    if None in experiment_ids:
        conds.append(Run.experiment_id.is_(None))
    if not conds:
        return []
    with session() as s:
        return list(s.scalars(select(Run.id).where(or_(*conds)).order_by(Run.id.desc())))


# ── logged runs ──────────────────────────────────────────────────────────────────────────────────


def create_logged_run(
    *,
    experiment_id: int | None,
    name: str,
    values: Mapping[str, Any],
    started_at: datetime | None,
    owner_id: int | None,
    tags: Mapping[str, str],
    xlt_tags: Iterable[str],
) -> int:
    """A running run on MLFLOW_QUEUE with its MLflow tags; `values` sets config, task, model, method, seed."""
    now = utcnow()
    with session() as s:
        run = Run(
            experiment_id=experiment_id,
            name=name,
            status="running",
            queue=MLFLOW_QUEUE,
            task_id="",
            created_at=now,
            started_at=started_at or now,
            owner_id=owner_id,
            **values,
        )
        s.add(run)
        s.flush()
        if tags:
            s.execute(insert(MlflowTag), [{"run_id": run.id, "key": k, "value": v} for k, v in tags.items()])
        tag_list = sorted(set(xlt_tags))
        if tag_list:
            s.execute(insert(RunTag), [{"run_id": run.id, "tag": t} for t in tag_list])
        return run.id


def _latest(
    s: Any, run_ids: Sequence[int], keys: Sequence[str] | None = None
) -> dict[int, list[MetricValue]]:
    """Each metric's (or each of `keys`') latest value per run: highest step, then latest timestamp
    (MLflow's rule)."""
    m = MlflowMetric
    rank = (
        func.row_number()
        .over(partition_by=(m.run_id, m.key), order_by=(m.step.desc(), m.timestamp.desc(), m.id.desc()))
        .label("rank")
    )
    conds = [m.run_id.in_(run_ids)] + ([m.key.in_(list(keys))] if keys is not None else [])
    ranked = select(m.run_id, m.key, m.value, m.timestamp, m.step, rank).where(*conds).subquery()
    out: dict[int, list[MetricValue]] = {rid: [] for rid in run_ids}
    rows = s.connection().execute(select(ranked).where(ranked.c.rank == 1).order_by(ranked.c.key))
    for rid, key, value, ts, step, _ in rows:
        out[rid].append(MetricValue(key=key, value=_read(value), timestamp=ts, step=step))
    return out


def logged_runs(run_ids: Sequence[int], *, with_metrics: bool = True) -> list[LoggedRun]:
    """Runs by id in the order asked (unknown ids skipped), each with its params and tags, and (unless
    `with_metrics` is False: a write needs neither, and they cost a pass over the run's metric values)
    each metric's latest value and the run's history series."""
    if not run_ids:
        return []
    ids = list(run_ids)
    with session() as s:
        conn = s.connection()
        rows = {r.id: r for r in conn.execute(select(*RUN_COLUMNS, Run.queue).where(Run.id.in_(ids)))}
        found = [i for i in ids if i in rows]
        params: dict[int, dict[str, str]] = {i: {} for i in found}
        for rid, key, value in conn.execute(
            select(MlflowParam.run_id, MlflowParam.key, MlflowParam.value).where(
                MlflowParam.run_id.in_(found)
            )
        ):
            params[rid][key] = value
        tags: dict[int, dict[str, str]] = {i: {} for i in found}
        for rid, key, value in conn.execute(
            select(MlflowTag.run_id, MlflowTag.key, MlflowTag.value).where(MlflowTag.run_id.in_(found))
        ):
            tags[rid][key] = value
        names: dict[int, set[str]] = {i: set() for i in found}
        latest: dict[int, list[MetricValue]] = {i: [] for i in found}
        if with_metrics:
            for rid, series_names in series.names_by_run(s, found).items():
                names[rid] |= series_names
            latest = _latest(s, found)
        xlt_tags = tags_for(s, found)
        return [
            LoggedRun(
                run=run_out(rows[i], xlt_tags[i]),
                queue=rows[i].queue,
                params=params[i],
                tags=tags[i],
                latest=latest[i],
                history_names=names[i],
            )
            for i in found
        ]


def logged_run(run_id: int, *, with_metrics: bool = True) -> LoggedRun | None:
    found = logged_runs([run_id], with_metrics=with_metrics)
    return found[0] if found else None


def metric_keys(run_id: int) -> list[str]:
    """Every metric key logged to the run (an index-only scan)."""
    with session() as s:
        return list(s.scalars(select(MlflowMetric.key).where(MlflowMetric.run_id == run_id).distinct()))


def latest_values(run_id: int, keys: Sequence[str]) -> list[MetricValue]:
    """The latest value of each of these metrics (the per-language ones a score is derived from)."""
    if not keys:
        return []
    with session() as s:
        return _latest(s, [run_id], keys)[run_id]


def series_present(run_id: int, names: Iterable[str]) -> set[str]:
    """Which of these history series the run already has."""
    wanted = sorted(set(names))
    if not wanted:
        return set()
    with session() as s:
        return {name for name in wanted if series.has_series(s, run_id, name)}


def record_batch(
    run_id: int,
    *,
    params: Mapping[str, str] = {},  # noqa: B006 (never mutated)
    tags: Mapping[str, str] = {},  # noqa: B006
    metrics: Sequence[MetricValue] = (),
    history: Sequence[tuple[str, int, float]] = (),
    backfill: Mapping[str, str] = {},  # noqa: B006
    xlt_tags_added: Iterable[str] = (),
    xlt_tags_removed: Iterable[str] = (),
    run_values: Mapping[str, Any] | None = None,
    scores: Sequence[ScoreIn] | None = None,
) -> None:
    """One MLflow log call, all or nothing: params (new ones), tags (set), metric values, the history
    points among them as (name, step, value) of stage 'task', the run's earlier step-0 values of
    `backfill` {metric key: series name} (a metric that turned out to be stepped), XLT tags, and the
    derived run columns (config, task, …, summary, average) and scores (replacing the run's) when given.
    """
    with session() as s:
        if run_values:
            s.execute(update(Run).where(Run.id == run_id).values(**run_values))
        if params:
            s.execute(
                insert(MlflowParam), [{"run_id": run_id, "key": k, "value": v} for k, v in params.items()]
            )
        if tags:
            s.execute(delete(MlflowTag).where(MlflowTag.run_id == run_id, MlflowTag.key.in_(list(tags))))
            s.execute(insert(MlflowTag), [{"run_id": run_id, "key": k, "value": v} for k, v in tags.items()])
        insert_many(
            s,
            "mlflow_metrics",
            ("run_id", "key", "value", "timestamp", "step"),
            [(run_id, m.key, _stored(m.value), m.timestamp, m.step) for m in metrics],
        )
        points: list[series.Point] = []
        for key, name in backfill.items():
            earlier = s.execute(
                select(MlflowMetric.step, MlflowMetric.value).where(
                    MlflowMetric.run_id == run_id, MlflowMetric.key == key, MlflowMetric.step <= 0
                )
            )
            points += [
                ("task", name, step, value) for step, value in earlier if value is not None and finite(value)
            ]
        points += [("task", name, step, value) for name, step, value in history if finite(value)]
        series.append(s, run_id, points, streaming=True)
        _change_tags(s, run_id, added=xlt_tags_added, removed=xlt_tags_removed)
        if scores is not None:
            s.execute(delete(Score).where(Score.run_id == run_id))
            insert_many(
                s,
                "scores",
                SCORE_COLUMNS,
                [(run_id, sc.dataset, sc.language, sc.split, sc.metric, sc.value, sc.n) for sc in scores],
            )


def _change_tags(s: Any, run_id: int, *, added: Iterable[str], removed: Iterable[str]) -> None:
    removed_list = [t for t in removed if t]
    if removed_list:
        s.execute(delete(RunTag).where(RunTag.run_id == run_id, RunTag.tag.in_(removed_list)))
    wanted = sorted({t for t in added if t})
    if wanted:
        present = set(s.scalars(select(RunTag.tag).where(RunTag.run_id == run_id, RunTag.tag.in_(wanted))))
        new = [t for t in wanted if t not in present]
        if new:
            s.execute(insert(RunTag), [{"run_id": run_id, "tag": t} for t in new])


def delete_tag(run_id: int, key: str, xlt_tag: str | None) -> None:
    with session() as s:
        s.execute(delete(MlflowTag).where(MlflowTag.run_id == run_id, MlflowTag.key == key))
        _change_tags(s, run_id, added=(), removed=[xlt_tag] if xlt_tag else [])


def update_logged_run(run_id: int, **values: Any) -> None:
    """Status, finished_at, progress, name, config …: the columns runs/update changes."""
    with session() as s:
        s.execute(update(Run).where(Run.id == run_id).values(**json_safe(values)))


def metric_history(run_id: int, key: str, *, offset: int = 0, limit: int | None = None) -> list[MetricValue]:
    """Every logged value of one metric, by step then timestamp."""
    m = MlflowMetric
    query = (
        select(m.key, m.value, m.timestamp, m.step)
        .where(m.run_id == run_id, m.key == key)
        .order_by(m.step, m.timestamp, m.id)
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    with session() as s:
        return [
            MetricValue(key=k, value=_read(v), timestamp=ts, step=step)
            for k, v, ts, step in s.connection().execute(query)
        ]


def scores_of(run_ids: Sequence[int]) -> dict[int, list[ScoreOut]]:
    """Scores of many runs at once (MLflow's view of runs trained in XLT Lab)."""
    out: dict[int, list[ScoreOut]] = {rid: [] for rid in run_ids}
    if not run_ids:
        return out
    with session() as s:
        rows = s.connection().execute(
            select(
                Score.run_id, Score.dataset, Score.language, Score.split, Score.metric, Score.value, Score.n
            )
            .where(Score.run_id.in_(list(run_ids)))
            .order_by(Score.run_id, Score.dataset, Score.metric, Score.language)
        )
        for rid, d, lang, sp, metric, value, n in rows:
            out[rid].append(ScoreOut(dataset=d, language=lang, split=sp, metric=metric, value=value, n=n))
    return out
