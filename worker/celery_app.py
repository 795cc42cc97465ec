"""The Celery app of XLT Lab workers (`celery -A worker.celery_app worker`, or `xlt worker`).

Configuration lives in backend.queue.make_celery, shared with the sender. The app finds its one
task through `include` (worker.tasks uses `shared_task`), so the app and the task module do not
import each other; `xlt worker` (xlt/worker.py) starts it with XLT Lab's queues and pool.

Every worker also runs a dispatcher (worker/dispatcher.py) in a thread of its main process, started
when the worker is ready: runs are re-queued and re-sent even when no API server is up. In a
prefork pool each child gets its share of the CPU threads (OMP_NUM_THREADS, unless set), so two
runs at once do not fight over every core.
"""

from __future__ import annotations

import os
from typing import Any

from celery.signals import worker_process_init, worker_ready, worker_shutdown

from backend.queue import adopt_app, make_celery
from backend.settings import get_settings
from worker.dispatcher import DispatcherThread, start_in_thread

app = make_celery(get_settings())
app.conf.include = ["worker.tasks"]
adopt_app(app)  # the dispatcher in this process sends through this app, not a second one

_dispatcher: list[DispatcherThread] = []


@worker_ready.connect
def _start_dispatcher(**_: Any) -> None:
    _dispatcher.append(start_in_thread(get_settings()))


@worker_shutdown.connect
def _stop_dispatcher(**_: Any) -> None:
    while _dispatcher:
        _dispatcher.pop().stop()


@worker_process_init.connect
def _share_cpu_threads(**_: Any) -> None:
    """A prefork child (torch is not imported yet): its share of the cores for intra-op threads."""
    concurrency = get_settings().worker_concurrency
    if concurrency > 1 and "OMP_NUM_THREADS" not in os.environ:
        os.environ["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // concurrency))
