"""The FastAPI application: JSON API, health, dashboard pages and their static files."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

import backend.pages
from backend import store
from backend.api import api_router, health_router
from backend.api.errors import install_error_handlers
from backend.settings import get_settings

STATIC = Path(__file__).resolve().parent.parent / "frontend" / "static"


log = logging.getLogger(__name__)
STALE_CHECK_EVERY_S = 60.0


async def _fail_stale_runs_forever() -> None:
    """A worker that died mid-run (power loss, OOM kill) leaves its run 'running': fail it after a while."""
    while True:
        try:
            lost = await run_in_threadpool(store.fail_stale_runs, get_settings().stale_after)
            if lost:
                log.warning("runs %s failed: their worker stopped sending heartbeats", lost)
        except Exception:
            log.exception("stale-run check failed")
        await asyncio.sleep(STALE_CHECK_EVERY_S)


@contextlib.asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    task = asyncio.create_task(_fail_stale_runs_forever())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def create_app() -> FastAPI:
    app = FastAPI(
        lifespan=lifespan,
        title="XLT Lab",
        description="Zero-shot cross-lingual transfer runs: submit, queue, track and compare.",
        version="0.1.0",
    )
    install_error_handlers(app)
    app.include_router(api_router)
    app.include_router(health_router)
    app.include_router(backend.pages.router)
    STATIC.mkdir(parents=True, exist_ok=True)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
