"""The queue client: one Celery configuration for sender and worker, and `enqueue_run`.

The backend sends task "xlt.train_run" by name (it never imports the task code, so no torch here),
after the run's row is committed, to the queue of the run's device: train.device == "cpu" → cpu
queue, otherwise the gpu queue.

Celery pitfalls handled here:
- kombu's SQLAlchemy transport crashes when `polling_interval` is in broker_transport_options:
  set it on the Transport class instead.
- revoke(terminate=True) does nothing on that transport: cancel is cooperative, through the
  run's cancel flag in the database (the row is the source of truth, not Celery's state).
- With Redis and acks_late, a task unacked for longer than visibility_timeout is delivered again:
  the timeout must exceed the longest run (default 7 days).
- prefetch multiplier 1 and concurrency 1: a worker holds exactly one run per GPU.
- Two workers starting at the same instant on a fresh SQLite broker race to create kombu's queue
  rows and the loser exits (IntegrityError): the embedded mode starts one worker.
- The broker is not the queue of record: a message lost in a restart or FLUSHALL is sent again by a
  dispatcher (worker/dispatcher.py), and a message delivered twice is skipped by the claim.
"""

from __future__ import annotations

import threading
import uuid

from celery import Celery

from backend.settings import Settings, get_settings
from worker.training.config import RunConfig

TASK_NAME = "xlt.train_run"
SQLA_POLLING_INTERVAL = 0.5  # seconds between polls of the SQLite broker

_lock = threading.Lock()
_apps: dict[str, Celery] = {}


def make_celery(settings: Settings) -> Celery:
    app = Celery("xlt", broker=settings.broker_url)
    transport_options: dict[str, object] = {}
    if settings.embedded_broker:
        import kombu.transport.sqlalchemy as sqla

        sqla.Transport.polling_interval = SQLA_POLLING_INTERVAL  # type: ignore[attr-defined]
        if settings.broker_url.startswith("sqla+sqlite"):
            settings.ensure_home()
            transport_options["connect_args"] = {"timeout": 30}
    else:
        transport_options["visibility_timeout"] = settings.visibility_timeout
    app.conf.update(
        broker_transport_options=transport_options,
        broker_connection_retry_on_startup=True,
        task_default_queue=settings.gpu_queue,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        worker_prefetch_multiplier=1,
        worker_concurrency=settings.worker_concurrency,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        task_send_sent_event=False,
    )
    return app


def adopt_app(app: Celery) -> None:
    """Send through `app` (a worker's own Celery app) for its broker URL, instead of making another."""
    with _lock:
        _apps[app.conf.broker_url] = app


def get_celery(settings: Settings | None = None) -> Celery:
    settings = settings or get_settings()
    with _lock:
        if settings.broker_url not in _apps:
            _apps[settings.broker_url] = make_celery(settings)
        return _apps[settings.broker_url]


def queue_for(config: RunConfig, settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    return settings.cpu_queue if config.train.device == "cpu" else settings.gpu_queue


def new_task_id() -> str:
    return str(uuid.uuid4())


def enqueue_run(run_id: int, queue: str, task_id: str) -> None:
    """Send the task (call only after the run's row is committed). Raises on an unreachable broker,
    after one quick retry: a run that cannot be sent waits for the queue and a dispatcher sends it
    later, so nobody waits long for a broker that is down."""
    get_celery().send_task(
        TASK_NAME,
        args=[run_id],
        queue=queue,
        task_id=task_id,
        retry=True,
        retry_policy={"max_retries": 1, "interval_start": 0.2, "interval_step": 0.5},
    )


def queue_depth(queue: str) -> int:
    """Messages waiting in a queue (0 when it does not exist yet)."""
    app = get_celery()
    with app.connection_for_write() as conn:
        try:
            return int(conn.default_channel.queue_declare(queue=queue, passive=True).message_count)
        except Exception as exc:  # a passive declare of a queue never used raises "not found"
            if "NOT_FOUND" in str(exc).upper() or "404" in str(exc) or "no queue" in str(exc).lower():
                return 0
            raise


def ping_broker() -> None:
    """Raise if the broker cannot be reached within a few seconds."""
    with get_celery().connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=3)


def reset_apps() -> None:
    with _lock:
        _apps.clear()
