"""The runs table as the queue of record: which queued runs to send, and stale runs to reap.

A queued run's `dispatched_at` says when its task was last sent (None: never sent, or the send
failed: the run is "waiting for the queue"). Every change here is one conditional UPDATE per run, so
any number of dispatchers (in each `xlt serve` and each `xlt worker`) can run these at once: for each
run exactly one of them wins the UPDATE and acts on it, the others' match nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update

from backend.db import session
from backend.models import Run, utcnow
from backend.store.common import MLFLOW_QUEUE, aware
from worker.training.results import FINISHED_STATUSES

# ── sending queued runs ──────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class DispatchPlan:
    """Queued runs a dispatcher may send now.

    unsent:    (run id, queue) of runs never sent or whose last send failed: send them.
    overdue:   (run id, queue) of runs sent more than `redispatch_after` ago and still queued: their
               message may be lost (broker restart, FLUSHALL, a worker that died before claiming).
    expected:  per queue, how many queued runs should have a message in the broker (sent ones): when
               the broker holds fewer, the overdue runs of that queue are sent again.
    """

    unsent: list[tuple[int, str]] = field(default_factory=list)
    overdue: list[tuple[int, str]] = field(default_factory=list)
    expected: Counter[str] = field(default_factory=Counter)


def dispatch_plan(redispatch_after: float, limit: int = 500) -> DispatchPlan:
    """What to send: the oldest `limit` unsent and overdue queued runs, and the counts per queue."""
    cutoff = utcnow() - timedelta(seconds=redispatch_after)
    waiting = (Run.status == "queued", Run.cancel_requested.is_(False))
    with session() as s:
        conn = s.connection()
        unsent = conn.execute(
            select(Run.id, Run.queue)
            .where(*waiting, Run.dispatched_at.is_(None))
            .order_by(Run.id)
            .limit(limit)
        ).all()
        overdue = conn.execute(
            select(Run.id, Run.queue)
            .where(*waiting, Run.dispatched_at < cutoff)
            .order_by(Run.dispatched_at, Run.id)
            .limit(limit)
        ).all()
        expected = Counter(
            {
                q: n
                for q, n in conn.execute(
                    select(Run.queue, func.count())
                    .where(*waiting, Run.dispatched_at.is_not(None))
                    .group_by(Run.queue)
                )
            }
        )
    return DispatchPlan([(i, q) for i, q in unsent], [(i, q) for i, q in overdue], expected)


def take_for_dispatch(run_id: int, redispatch_after: float) -> bool:
    """Reserve the send of a queued run (sets dispatched_at now). False when another dispatcher, a
    submit or a worker got there first: the run is not queued, or was sent less than
    `redispatch_after` seconds ago. The last send's error stays until a send succeeds
    (`mark_sent`), so the run reads "waiting for the queue" throughout a retry, never flickering."""
    now = utcnow()
    cutoff = now - timedelta(seconds=redispatch_after)
    with session() as s:
        taken = s.execute(
            update(Run)
            .where(
                Run.id == run_id,
                Run.status == "queued",
                Run.cancel_requested.is_(False),
                or_(Run.dispatched_at.is_(None), Run.dispatched_at < cutoff),
            )
            .values(dispatched_at=now)
        )
        return taken.rowcount == 1  # type: ignore[attr-defined,no-any-return]


def mark_sent(run_id: int) -> None:
    """The send succeeded: forget the previous send's error."""
    with session() as s:
        s.execute(
            update(Run).where(Run.id == run_id, Run.dispatch_error.is_not(None)).values(dispatch_error=None)
        )


def release_dispatch(run_id: int, error: str) -> None:
    """The send failed: the run waits for the queue (dispatched_at None) and says why."""
    with session() as s:
        s.execute(
            update(Run)
            .where(Run.id == run_id, Run.status == "queued")
            .values(dispatched_at=None, dispatch_error=error[:2000])
        )


# ── reaping runs whose worker was lost ───────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Reaped:
    """Runs whose heartbeat went stale: back in the queue, failed for good, or cancelled."""

    requeued: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.requeued or self.failed or self.cancelled)


def _age_s(heartbeat_at: datetime | None, now: datetime) -> int:
    beat = aware(heartbeat_at)
    return 0 if beat is None else round((now - beat).total_seconds())


def reap_stale_runs(stale_after: float, max_attempts: int, limit: int = 200) -> Reaped:
    """Running runs without a heartbeat for `stale_after` seconds: re-queued while they have attempts
    left (`attempts < max_attempts`), failed as "worker lost" after that; cancelled if a cancel was
    requested. Each run changes in its own conditional UPDATE, fenced on the attempt it was seen
    with, so a worker that beats in between (or another reaper) wins and nothing changes."""
    now = utcnow()
    cutoff = now - timedelta(seconds=stale_after)
    stale = (
        Run.status == "running",
        or_(Run.heartbeat_at < cutoff, Run.heartbeat_at.is_(None)),
        Run.queue != MLFLOW_QUEUE,  # an MLflow script's run: its script, not a worker, ends it
    )
    with session() as s:
        rows = s.execute(
            select(Run.id, Run.attempts, Run.cancel_requested, Run.heartbeat_at)
            .where(*stale)
            .order_by(Run.id)
            .limit(limit)
        ).all()
    reaped = Reaped()
    for run_id, attempts, cancel, heartbeat_at in rows:
        age = _age_s(heartbeat_at, now)
        if cancel:
            outcome, values = reaped.cancelled, {"status": "cancelled", "finished_at": now}
        elif attempts < max_attempts:
            outcome, values = (
                reaped.requeued,
                {
                    "status": "queued",
                    "dispatched_at": None,
                    "dispatch_error": None,
                    "error_message": f"attempt {attempts} lost: no heartbeat for {age} s; re-queued",
                },
            )
        else:
            outcome, values = (
                reaped.failed,
                {
                    "status": "failed",
                    "finished_at": now,
                    "error_message": f"worker lost: no heartbeat for {age} s after {attempts} attempts",
                },
            )
        with session() as s:
            changed = s.execute(
                update(Run).where(Run.id == run_id, Run.attempts == attempts, *stale).values(**values)
            )
            if changed.rowcount == 1:  # type: ignore[attr-defined]
                outcome.append(run_id)
    return reaped


def finished_run_ids(run_ids: Sequence[int]) -> list[int]:
    """Those of `run_ids` that are over (succeeded, failed, cancelled): nothing resumes them."""
    if not run_ids:
        return []
    with session() as s:
        return list(
            s.scalars(
                select(Run.id).where(Run.id.in_(list(run_ids)), Run.status.in_(list(FINISHED_STATUSES)))
            )
        )
