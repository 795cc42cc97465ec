"""A run's life on the worker side: claim, batched progress, outcome (succeeded, failed, cancelled).

Fencing: a claim makes the run `running` and increments `attempts`; that number is the attempt's
token. Every later write of the attempt (progress and heartbeat, scores with summary and status,
failure, cancel) matches `id = :id AND status = 'running' AND attempts = :n` and raises
LostOwnership when it matches nothing, so a worker declared lost can never overwrite the run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from backend.db import session
from backend.models import Run, RunCorrectness, Score, utcnow
from backend.schemas import RunOut
from backend.store import series
from backend.store.common import (
    CORRECTNESS_COLUMNS,
    SCORE_COLUMNS,
    correctness_rows,
    finite,
    insert_many,
    json_safe,
    warnings_json,
)
from backend.store.runs import create_run, get_run
from worker.training.config import RunConfig, format_validation_error
from worker.training.results import ACTIVE_STATUSES, RunResult

# ── the worker's side ────────────────────────────────────────────────────────────────────────────


class LostOwnership(Exception):
    """A fenced write found the run no longer owned by this attempt (re-queued, finished, cancelled).

    The writer must stop: another attempt may be training the run, and nothing this attempt writes
    may land on it any more.
    """

    def __init__(self, run_id: int, attempt: int) -> None:
        super().__init__(f"run {run_id}: attempt {attempt} no longer owns the run")
        self.run_id = run_id
        self.attempt = attempt


@dataclass(frozen=True)
class Claim:
    """A run taken by one attempt: its config and the attempt number every later write carries."""

    config: RunConfig
    attempt: int


def _owned(run_id: int, attempt: int) -> tuple[Any, ...]:
    """The fencing rule: the run is running and this attempt is the latest claim."""
    return (Run.id == run_id, Run.status == "running", Run.attempts == attempt)


def _fenced_update(s: Session, run_id: int, attempt: int | None, **values: Any) -> None:
    where = _owned(run_id, attempt) if attempt is not None else (Run.id == run_id,)
    result = s.execute(update(Run).where(*where).values(**values))
    if attempt is not None and result.rowcount != 1:  # type: ignore[attr-defined]
        raise LostOwnership(run_id, attempt)


def claim_run(run_id: int, host: str, task_id: str | None) -> Claim | None:
    """Mark a queued run running as the next attempt; None if it is not queued (taken, finished,
    cancelled), so a task delivered twice never trains the same attempt twice.

    Only queued runs are claimed: a running run whose worker stopped beating is first put back in
    the queue by the reaper (backend.store.dispatch), which counts its attempts. A stored config that
    no longer passes validation (stored before a bound existed) fails the run instead of sticking.
    """
    now = utcnow()
    with session() as s:
        claimed = s.execute(
            update(Run)
            .where(Run.id == run_id, Run.status == "queued", Run.cancel_requested.is_(False))
            .values(
                status="running",
                started_at=now,
                heartbeat_at=now,
                worker_host=host,
                task_id=task_id or Run.task_id,
                attempts=Run.attempts + 1,
                progress=0.0,
                error_message=None,
                traceback=None,
            )
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None
        config, attempt = s.execute(select(Run.config, Run.attempts).where(Run.id == run_id)).one()
        try:
            return Claim(RunConfig.model_validate(config), attempt)
        except ValidationError as exc:
            message = f"invalid config: {format_validation_error(exc)}"
            s.execute(
                update(Run)
                .where(Run.id == run_id)
                .values(status="failed", error_message=message, finished_at=now)
            )
            return None


def record_progress(
    run_id: int,
    *,
    attempt: int,
    progress: float | None = None,
    stage: str | None = None,
    points: Sequence[tuple[str, str, int, float]] = (),
    replace_from: Mapping[str, int] | None = None,
) -> bool:
    """Write a batch of (stage, name, step, value) points, progress and heartbeat in one transaction.

    Fenced: raises LostOwnership unless `attempt` still owns the run. `replace_from` {stage: step}
    first deletes the run's points of that stage from that step on (a resumed attempt rewrites what
    the lost one logged after its last checkpoint). Returns the run's cancel flag, so the reporter
    learns of a cancel with the same round trip.
    """
    values: dict[str, Any] = {"heartbeat_at": utcnow()}
    if progress is not None:
        values["progress"] = progress
    if stage is not None:
        values["stage"] = stage
    kept = [p for p in points if finite(p[3])]  # a diverged (NaN) loss: a gap in the chart, not a failure
    with session() as s:
        _fenced_update(s, run_id, attempt, **values)
        for st, step in (replace_from or {}).items():
            series.truncate(s, run_id, st, step)
        series.append(s, run_id, kept, streaming=True)
        return bool(s.scalar(select(Run.cancel_requested).where(Run.id == run_id)))


def is_cancel_requested(run_id: int) -> bool:
    with session() as s:
        return bool(s.scalar(select(Run.cancel_requested).where(Run.id == run_id)))


def complete_run(
    run_id: int, result: RunResult, *, attempt: int | None = None, include_history: bool = False
) -> None:
    """Store a finished run: status, summary, average, warnings, scores and per-example correctness
    bitsets (batch inserts), one transaction.

    Fenced when `attempt` is given (the worker always gives it): raises LostOwnership, storing
    nothing, unless that attempt owns the run. The run's earlier scores and bitsets are replaced, so
    however often a result is stored the run has one set of each. `attempt=None` is for runs never claimed
    (imports, seeded tests). The run's average is the evaluation summary's.
    `include_history` also stores result.history as loss/lr points (imports; the worker streams them).
    """
    summary = result.summary.model_dump(mode="json")
    for extra in ("selected_checkpoint", "timings", "environment", "generalized", "augmentation", "resume"):
        value = getattr(result, extra)
        summary[extra] = value.model_dump(mode="json") if hasattr(value, "model_dump") else value
    summary = json_safe(summary)
    scores = [sc for sc in result.scores if finite(sc.value)]  # e.g. pearson of a constant prediction
    now = utcnow()
    with session() as s:
        _fenced_update(  # first: on PostgreSQL the row lock orders concurrent writers of this run
            s,
            run_id,
            attempt,
            status=result.status,
            progress=1.0,
            finished_at=now,
            heartbeat_at=now,
            summary=summary,
            average=result.summary.average if finite(result.summary.average) else None,
            warnings=warnings_json(result),
        )
        s.execute(delete(Score).where(Score.run_id == run_id))
        s.execute(delete(RunCorrectness).where(RunCorrectness.run_id == run_id))
        insert_many(
            s,
            "scores",
            SCORE_COLUMNS,
            [(run_id, sc.dataset, sc.language, sc.split, sc.metric, sc.value, sc.n) for sc in scores],
        )
        insert_many(s, "run_correctness", CORRECTNESS_COLUMNS, correctness_rows(run_id, result))
        if include_history:
            series.append(s, run_id, series.history_points(result.history))
        series.compact(s, run_id)  # the progress writes' chunks, one row per series from now on


def fail_run(run_id: int, message: str, traceback: str | None = None, *, attempt: int) -> None:
    """The attempt ends the run as failed (fenced: raises LostOwnership if it no longer owns it)."""
    now = utcnow()
    with session() as s:
        _fenced_update(
            s,
            run_id,
            attempt,
            status="failed",
            error_message=message,
            traceback=traceback,
            finished_at=now,
            heartbeat_at=now,
        )


def mark_cancelled(run_id: int, *, attempt: int) -> None:
    """The attempt stopped on a cancel request (fenced like every write after a claim)."""
    now = utcnow()
    with session() as s:
        _fenced_update(s, run_id, attempt, status="cancelled", finished_at=now, heartbeat_at=now)


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
    complete_run(run.id, result, include_history=True)  # never claimed: no attempt to fence
    return run.id
