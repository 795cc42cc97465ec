"""`xlt serve`: migrate, start one local worker (embedded default), and serve the app with uvicorn.

A dispatcher thread (worker/dispatcher.py) runs beside the app: it sends runs that wait for the
queue and re-queues runs whose worker was lost.

One uvicorn process: asyncio/uvloop set TCP_NODELAY on every accepted socket, so kept-alive
connections do not pay Nagle's ~40 ms (tests/xlt/test_serve.py measures it).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any

from backend.migrate import upgrade
from backend.settings import get_settings
from worker.dispatcher import start_in_thread


def _die_with_parent() -> None:
    """Linux: the worker gets SIGTERM if `xlt serve` dies without cleaning up (e.g. SIGKILL)."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start_worker() -> subprocess.Popen[bytes]:
    """The local worker: `xlt worker` in a child process with the same environment."""
    return subprocess.Popen(
        [sys.executable, "-m", "xlt.cli", "worker"], env=os.environ.copy(), preexec_fn=_die_with_parent
    )


def _exit_on_sigterm(_signum: int, _frame: Any) -> None:
    # uvicorn shuts down gracefully, restores this handler and re-raises SIGTERM: exit through
    # `finally` so the local worker is stopped too.
    sys.exit(0)


def stop_worker(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def serve(host: str | None = None, port: int | None = None, with_worker: bool = True) -> int:
    import uvicorn

    settings = get_settings()
    settings.ensure_home()
    upgrade()
    worker = start_worker() if with_worker else None
    dispatcher = start_in_thread(settings)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        uvicorn.run(
            "backend.app:create_app",
            factory=True,
            host=host or settings.host,
            port=port or settings.port,
            workers=1,
            log_level=settings.log_level,
        )
    finally:
        dispatcher.stop()
        if worker is not None:
            stop_worker(worker)
    return 0
