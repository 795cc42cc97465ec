"""The Celery app of XLT Lab workers (`celery -A worker.celery_app worker`, or `xlt worker`).

Configuration lives in backend.queue.make_celery, shared with the sender. The app finds its one
task through `include` (worker.tasks uses `shared_task`), so the app and the task module do not
import each other; `xlt worker` (xlt/worker.py) starts it with XLT Lab's queues and pool.
"""

from __future__ import annotations

from backend.queue import make_celery
from backend.settings import get_settings

app = make_celery(get_settings())
app.conf.include = ["worker.tasks"]
