"""Shared pieces of the store: column sets, row → pydantic conversion, driver-level batch insert."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.models import Experiment, Run, RunTag, User
from backend.schemas import ExperimentOut, RunOut
from worker.training.results import RunResult

# Runs logged by MLflow scripts (/api/2.0/mlflow) sit on this queue: nothing is ever sent for them,
# and no worker beats for them, so the dispatcher and the reaper leave them alone.
MLFLOW_QUEUE = "mlflow"

# The owner's name rides along as a correlated lookup by primary key (no join to keep in every query).
OWNER_NAME = select(User.name).where(User.id == Run.owner_id).scalar_subquery().label("owner")
RUN_COLUMNS = (*Run.__table__.c, OWNER_NAME)
# Lists leave out the large per-run fields (summary JSON, traceback): get_run has them.
LIST_COLUMNS = (*(c for c in Run.__table__.c if c.name not in ("summary", "traceback")), OWNER_NAME)
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


def finite(value: float | None) -> bool:
    """A number PostgreSQL and charts can hold (not None, NaN or ±inf)."""
    return value is not None and math.isfinite(value)


def json_safe(value: Any) -> Any:
    """JSON columns must not hold NaN/inf (PostgreSQL rejects them): those become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def insert_many(s: Session, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """executemany straight on the driver: thousands of points without per-row ORM/compiler work."""
    if not rows:
        return
    conn = s.connection()
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
    conn.exec_driver_sql(sql, list(rows))


POINT_COLUMNS = ("run_id", "stage", "name", "step", "value")
SCORE_COLUMNS = ("run_id", "dataset", "language", "split", "metric", "value", "n")
CORRECTNESS_COLUMNS = ("run_id", "dataset", "language", "split", "n", "bits", "items_digest")


def correctness_rows(run_id: int, result: RunResult) -> list[tuple[Any, ...]]:
    """A result's per-example bitsets as run_correctness rows, on the run's evaluation split."""
    split = str((result.config.get("eval") or {}).get("split", "test"))
    return [
        (run_id, dataset, language, split, bits.n, bits.bits, bits.items_digest)
        for dataset, by_language in result.correctness.items()
        for language, bits in by_language.items()
    ]


def warnings_json(result: RunResult) -> list[dict[str, str]]:
    return [w.model_dump() for w in result.warnings]


def aware(dt: datetime | None) -> datetime | None:
    return dt.replace(tzinfo=UTC) if dt is not None and dt.tzinfo is None else dt


def run_out(run: Any, tags: list[str], detail: bool = True) -> RunOut:
    """From a Run or a Core row of RUN_COLUMNS (rows skip the ORM's per-object cost in long lists);
    detail=False for rows of LIST_COLUMNS (no summary, no traceback)."""
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
        traceback=run.traceback if detail else None,
        created_at=aware(run.created_at),  # type: ignore[arg-type]
        started_at=aware(run.started_at),
        finished_at=aware(run.finished_at),
        heartbeat_at=aware(run.heartbeat_at),
        worker_host=run.worker_host,
        task_id=run.task_id,
        attempts=run.attempts,
        cancel_requested=run.cancel_requested,
        dispatched_at=aware(run.dispatched_at),
        dispatch_error=run.dispatch_error,
        tags=tags,
        notes=run.notes,
        average=run.average,
        summary=run.summary if detail else None,
        warnings=run.warnings or [],
        owner_id=run.owner_id,
        owner=getattr(run, "owner", None),
    )


def tags_for(s: Session, run_ids: Sequence[int]) -> dict[int, list[str]]:
    tags: dict[int, list[str]] = {rid: [] for rid in run_ids}
    if run_ids:
        rows = s.connection().execute(
            select(RunTag.run_id, RunTag.tag).where(RunTag.run_id.in_(run_ids)).order_by(RunTag.tag)
        )
        for rid, tag in rows:
            tags[rid].append(tag)
    return tags


def experiment_out(exp: Experiment, run_count: int) -> ExperimentOut:
    return ExperimentOut(
        id=exp.id,
        name=exp.name,
        created_at=aware(exp.created_at),  # type: ignore[arg-type]
        run_count=run_count,
        description=exp.description or "",
        kind=exp.kind,  # type: ignore[arg-type]
        spec=exp.spec,
    )
