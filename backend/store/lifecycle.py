"""A run's life on the worker side: claim, batched progress, outcome (succeeded, failed, cancelled)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update

from backend.db import session
from backend.models import Run, utcnow
from backend.schemas import RunOut
from backend.store.common import (
    POINT_COLUMNS,
    SCORE_COLUMNS,
    finite,
    insert_many,
    json_safe,
)
from backend.store.runs import create_run, get_run
from worker.training.config import RunConfig
from worker.training.results import ACTIVE_STATUSES, HistoryPoint, RunResult

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
        if finite(v)  # a diverged (NaN) loss is a gap in the chart, not a failed run
    ]
    with session() as s:
        insert_many(s, "metric_points", POINT_COLUMNS, rows)
        s.execute(update(Run).where(Run.id == run_id).values(**values))
        return bool(s.scalar(select(Run.cancel_requested).where(Run.id == run_id)))


def is_cancel_requested(run_id: int) -> bool:
    with session() as s:
        return bool(s.scalar(select(Run.cancel_requested).where(Run.id == run_id)))


def _history_rows(run_id: int, history: Sequence[HistoryPoint]) -> list[tuple[Any, ...]]:
    rows = []
    for p in history:
        for name, value in (("loss", p.loss), ("lr", p.lr)):
            if finite(value):
                rows.append((run_id, p.stage, name, p.step, value))
    return rows


def complete_run(run_id: int, result: RunResult, *, include_history: bool = False) -> None:
    """Store a finished run: scores (one batch insert), summary, average, status. One transaction.

    The run's average is the evaluation summary's (computed once, where the scores are made).
    `include_history` also stores result.history as loss/lr points (imports; the worker streams them instead).
    """
    summary = result.summary.model_dump(mode="json")
    for extra in ("selected_checkpoint", "timings", "environment", "generalized", "augmentation"):
        value = getattr(result, extra)
        summary[extra] = value.model_dump(mode="json") if hasattr(value, "model_dump") else value
    summary = json_safe(summary)
    scores = [sc for sc in result.scores if finite(sc.value)]  # e.g. pearson of a constant prediction
    with session() as s:
        insert_many(
            s,
            "scores",
            SCORE_COLUMNS,
            [(run_id, sc.dataset, sc.language, sc.split, sc.metric, sc.value, sc.n) for sc in scores],
        )
        if include_history:
            insert_many(s, "metric_points", POINT_COLUMNS, _history_rows(run_id, result.history))
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
                average=result.summary.average if finite(result.summary.average) else None,
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
            update(Run).where(Run.id == run_id, Run.status.in_(ACTIVE_STATUSES)).values(cancel_requested=True)
        )
        s.execute(
            update(Run)
            .where(Run.id == run_id, Run.status == "queued")
            .values(status="cancelled", finished_at=utcnow())
        )
    return get_run(run_id)


def import_result(
    result: RunResult, *, experiment_id: int | None = None, tags: Iterable[str] = (), queue: str = "import"
) -> int:
    """Store a finished results.json as a new run (benchmarks, `xlt` imports, seeded tests)."""
    config = RunConfig.model_validate(result.config)
    run = create_run(config, queue=queue, task_id="", experiment_id=experiment_id, tags=tags)
    complete_run(run.id, result, include_history=True)
    return run.id
