"""`xlt serve`: migrate, start one local worker (embedded default), and serve the app with uvicorn.

A dispatcher thread (worker/dispatcher.py) runs beside the app: it sends runs that wait for the
queue and re-queues runs whose worker was lost.

One uvicorn process: asyncio/uvloop set TCP_NODELAY on every accepted socket, so kept-alive
connections do not pay Nagle's ~40 ms (tests/xlt/test_serve.py measures it).

`--host`/`--port` become XLT_HOST/XLT_PORT for the app too, so `XLT_AUTH=auto` and the default
XLT_ALLOWED_HOSTS follow the address actually bound. Binding beyond loopback without accounts is
allowed (a trusted network) but said loudly.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any

from backend.migrate import upgrade
from backend.settings import get_settings, reset_settings
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


def upgrade_and_bootstrap() -> None:
    """Migrate, then create the first admin if XLT_ADMIN_USER asks for one (`xlt db upgrade`, `xlt serve`)."""
    from backend.services.accounts import bootstrap_admin

    upgrade()
    said = bootstrap_admin(get_settings())
    if said:
        print(f"xlt: {said}", file=sys.stderr)


def warn_if_open() -> None:
    settings = get_settings()
    if not settings.auth_enabled and not settings.loopback_only:
        print(
            f"xlt serve: WARNING: listening on {settings.host} WITHOUT accounts (XLT_AUTH={settings.auth}):"
            " anyone who reaches this port can launch, cancel and read every run. Set XLT_AUTH=on"
            " (README: Deploying for a team) unless this network is yours alone.",
            file=sys.stderr,
        )


def serve(host: str | None = None, port: int | None = None, with_worker: bool = True) -> int:
    import uvicorn

    if host or port:  # the app (a factory, same process) reads them from the settings
        os.environ.update({k: str(v) for k, v in (("XLT_HOST", host), ("XLT_PORT", port)) if v})
        reset_settings()
    settings = get_settings()
    settings.ensure_home()
    upgrade_and_bootstrap()
    warn_if_open()
    worker = start_worker() if with_worker else None
    dispatcher = start_in_thread(settings)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        uvicorn.run(
            "backend.app:create_app",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=1,
            log_level=settings.log_level,
        )
    finally:
        dispatcher.stop()
        if worker is not None:
            stop_worker(worker)
    return 0
