"""The one task: xlt.train_run(run_id). Thin: claim the run, train with a DbReporter, store the outcome.

A `shared_task`: it binds to whichever Celery app loads this module (worker.celery_app includes it),
so the task does not import the app.

The database row is the source of truth. A run that is not queued any more (cancelled while
waiting, already taken by another delivery of the same message, finished) is skipped, so a task
delivered twice trains once. The claim returns the attempt number, and every later write carries
it: an attempt that lost the run (its worker was declared lost and the run re-queued) stops at the
next step and writes nothing ("fenced"). Exceptions become status failed with message and traceback.
An attempt that trains longer than XLT_RUN_TIME_LIMIT_MINUTES stops at its next cancel check and
fails with a "time limit" message.

A finished result is written to the spool (worker/spool.py) before it is stored, and stays there
when the database is down: this task retries for `XLT_RESULT_RETRY_SECONDS`, then leaves it to the
dispatcher, which stores it when the database is back. No finished result is lost.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from celery import shared_task

from backend import store
from backend.db import is_unavailable
from backend.queue import TASK_NAME
from backend.settings import Settings, get_settings
from worker import spool
from worker.db_reporter import DbReporter
from worker.training.results import RunResult

log = logging.getLogger(__name__)

T = TypeVar("T")
# Outcomes after which the run is over (its checkpoints go); "spooled" counts: the result is safe.
FINAL = ("succeeded", "failed", "cancelled", "spooled")


def error_message(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def time_limit_message(minutes: float) -> str:
    return (
        f"time limit: the run was stopped after {minutes:g} minutes of this attempt "
        "(XLT_RUN_TIME_LIMIT_MINUTES)"
    )


def worker_name() -> str:
    """Host and process: several workers share a machine (one per GPU)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def retry_while_unavailable(write: Callable[[], T], seconds: float, what: str, max_delay: float = 15.0) -> T:
    """Call `write` until the database takes it or `seconds` have passed (then the last error
    is raised); errors other than "database unavailable" are raised at once."""
    deadline = time.monotonic() + seconds
    delay = 0.5
    while True:
        try:
            return write()
        except Exception as exc:
            if not is_unavailable(exc) or time.monotonic() + delay > deadline:
                raise
            log.warning("%s: database unavailable, retrying in %.1f s: %s", what, delay, exc)
            time.sleep(delay)
            delay = min(delay * 2, max_delay)


def _store_result(
    run_id: int, attempt: int, result: RunResult, reporter: DbReporter, settings: Settings
) -> str:
    """Spool the result, then store it (fenced), retrying through a database outage; the spool file
    stays locked meanwhile, so a dispatcher leaves it to us until we give up."""
    with contextlib.ExitStack() as held:
        try:
            item = held.enter_context(spool.spooled(settings.spool_dir, run_id, attempt, result))
        except OSError:  # no disk for the spool: store it straight away, still retrying
            log.exception("run %s: could not spool the result", run_id)
            return _store_unspooled(run_id, attempt, result, reporter, settings)
        deadline = time.monotonic() + settings.result_retry_seconds
        delay = 0.5
        while True:
            if reporter.pending_points:
                reporter.flush()  # the last loss points first: once the run is finished they are fenced
            outcome = spool.store_spooled(item)
            if outcome == "stored":
                return result.status
            if outcome != "unavailable":
                return outcome  # fenced or unreadable: kept aside in the spool
            if time.monotonic() + delay > deadline:
                log.warning(
                    "run %s: database unavailable; result left in %s for a dispatcher", run_id, item.path
                )
                return "spooled"
            time.sleep(delay)
            delay = min(delay * 2, _max_retry_delay(settings))


def _store_unspooled(
    run_id: int, attempt: int, result: RunResult, reporter: DbReporter, settings: Settings
) -> str:
    reporter.flush()
    try:
        retry_while_unavailable(
            lambda: store.complete_run(run_id, result, attempt=attempt),
            settings.result_retry_seconds,
            f"run {run_id}",
            _max_retry_delay(settings),
        )
    except store.LostOwnership:
        return "fenced"
    return result.status


def _max_retry_delay(settings: Settings) -> float:
    """Retries come often enough that a run is stored before a dispatcher, counting a whole stale
    timeout of database from its return, calls the run's worker lost."""
    return max(1.0, min(15.0, settings.stale_after / 4))


def execute_run(run_id: int, task_id: str | None = None) -> str:
    """Run one queued run to its final status; returns that status, 'skipped' (not queued),
    'fenced' (this attempt lost the run) or 'spooled' (finished; stored later by a dispatcher)."""
    settings = get_settings()
    claim = retry_while_unavailable(
        lambda: store.claim_run(run_id, worker_name(), task_id),
        settings.result_retry_seconds,
        f"run {run_id}",
    )
    if claim is None:
        log.info("run %s is not queued any more: skipped", run_id)
        return "skipped"
    attempt = claim.attempt
    reporter = DbReporter(
        run_id,
        attempt,
        flush_interval=settings.flush_interval,
        heartbeat_interval=settings.heartbeat_seconds,
        max_backoff=_max_retry_delay(settings),
        time_limit=settings.run_time_limit_minutes * 60 or None,
    )

    def outcome(write: Callable[[], None], status: str) -> str:
        try:
            retry_while_unavailable(
                write, settings.result_retry_seconds, f"run {run_id}", _max_retry_delay(settings)
            )
        except store.LostOwnership:
            log.warning("run %s: attempt %s no longer owns the run; %s not written", run_id, attempt, status)
            return "fenced"
        return status

    try:
        status = _train_and_store(run_id, claim, reporter, outcome, settings)
    except Exception as exc:
        log.exception("run %s failed", run_id)
        with contextlib.suppress(Exception):
            reporter.close()
        if reporter.lost:
            return "fenced"
        cancelled = False
        with contextlib.suppress(Exception):
            cancelled = store.is_cancel_requested(run_id)
        if cancelled:
            status = outcome(lambda: store.mark_cancelled(run_id, attempt=attempt), "cancelled")
        else:
            message, trace = error_message(exc), traceback.format_exc()
            status = outcome(lambda: store.fail_run(run_id, message, trace, attempt=attempt), "failed")
    if status in FINAL:  # the run is over, nobody resumes it (a fenced attempt leaves the checkpoints
        _remove_checkpoints(settings.run_checkpoint_dir(run_id))  # to the attempt that owns the run)
    return status


def _train_and_store(
    run_id: int,
    claim: store.Claim,
    reporter: DbReporter,
    outcome: Callable[[Callable[[], None], str], str],
    settings: Settings,
) -> str:
    """Train (resuming from the run's checkpoint folder when an earlier attempt left one), then
    store the result, or the cancel."""
    from worker.training.checkpoints import CheckpointPolicy
    from worker.training.reporter import RunCancelled
    from worker.training.run import run as train

    policy = CheckpointPolicy(settings.run_checkpoint_dir(run_id), settings.checkpoint_minutes)
    try:
        result = train(claim.config, reporter, checkpoints=policy, roots=settings.path_roots)
    except RunCancelled:
        reporter.close()
        if reporter.lost:
            return "fenced"
        if reporter.timed_out and not reporter.cancel_requested:
            message = time_limit_message(settings.run_time_limit_minutes)
            return outcome(lambda: store.fail_run(run_id, message, attempt=claim.attempt), "failed")
        return outcome(lambda: store.mark_cancelled(run_id, attempt=claim.attempt), "cancelled")
    reporter.close()
    if reporter.lost:
        return "fenced"  # finished after losing the run: its scores belong to the attempt that owns it
    return _store_result(run_id, claim.attempt, result, reporter, settings)


def _remove_checkpoints(directory: Path) -> None:
    from worker.training.checkpoints import remove_checkpoints

    try:
        remove_checkpoints(directory)
    except Exception:  # disk trouble: the dispatcher's sweep tries again
        log.exception("could not remove %s", directory)


@shared_task(name=TASK_NAME, bind=True, acks_late=True, ignore_result=True)
def train_run(self, run_id: int) -> str:  # type: ignore[no-untyped-def]
    return execute_run(run_id, self.request.id)
