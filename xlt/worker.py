"""`xlt worker`: a Celery worker for the configured broker.

It consumes the queues in XLT_WORKER_QUEUES (default: gpu and cpu) one task at a time with the solo
pool: one process per GPU (start one `xlt worker` per GPU with CUDA_VISIBLE_DEVICES set), no fork
after torch is loaded, and the cancel flag is read by the training loop itself. With
XLT_WORKER_CONCURRENCY > 1 (CPU runs) it uses a prefork pool, the cores shared among the children.
The worker's main process also runs a dispatcher thread (worker/celery_app.py).
"""

from __future__ import annotations

from backend.settings import get_settings


def worker_argv() -> list[str]:
    settings = get_settings()
    return [
        "worker",
        "--queues",
        ",".join(settings.consumed_queues),
        "--concurrency",
        str(settings.worker_concurrency),
        "--pool",
        "solo" if settings.worker_concurrency == 1 else "prefork",
        "--loglevel",
        settings.log_level.upper(),
        "--without-gossip",
        "--without-mingle",
    ]


def run_worker() -> int:
    from worker.celery_app import app  # includes worker.tasks (xlt.train_run)

    app.worker_main(worker_argv())
    return 0
