"""The one task: xlt.train_run(run_id). Thin: claim the run, train with a DbReporter, store the outcome.

A `shared_task`: it binds to whichever Celery app loads this module (worker.celery_app includes it),
so the task does not import the app.

The database row is the source of truth: a run that is not queued any more (cancelled while waiting,
or already taken) is skipped; exceptions become status failed with message and traceback.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import traceback

from celery import shared_task

from backend import store
from backend.queue import TASK_NAME
from backend.settings import get_settings
from worker.db_reporter import DbReporter

log = logging.getLogger(__name__)


def error_message(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def execute_run(run_id: int, task_id: str | None = None) -> str:
    """Run one queued run to its final status; returns that status (or 'skipped')."""
    settings = get_settings()
    config = store.claim_run(run_id, socket.gethostname(), task_id, stale_after=settings.stale_after)
    if config is None:
        log.info("run %s is not queued any more: skipped", run_id)
        return "skipped"
    reporter = DbReporter(run_id, flush_interval=settings.flush_interval)
    try:
        from worker.training.reporter import RunCancelled
        from worker.training.run import run as train

        try:
            result = train(config, reporter)
        except RunCancelled:
            reporter.close()
            store.mark_cancelled(run_id)
            return "cancelled"
        reporter.close()
        store.complete_run(run_id, result)
        return result.status
    except Exception as exc:
        log.exception("run %s failed", run_id)
        with contextlib.suppress(Exception):
            reporter.close()
        if store.is_cancel_requested(run_id):
            store.mark_cancelled(run_id)
            return "cancelled"
        store.fail_run(run_id, error_message(exc), traceback.format_exc())
        return "failed"


@shared_task(name=TASK_NAME, bind=True, acks_late=True, ignore_result=True)
def train_run(self, run_id: int) -> str:  # type: ignore[no-untyped-def]
    return execute_run(run_id, self.request.id)
