"""The FastAPI application: JSON API, health, dashboard pages and their static files.

Errors are answered in the caller's language: JSON `{"message", "detail"}` for the API, health and
the pages' JSON feeds; an HTML error page for everything else. The status code is the same either
way (domain errors carry theirs, see backend.errors).

Access (backend.access) wraps everything: browser guards (Host, same-origin posts, security
headers), the session cookie, and the deny-by-default gate that resolves the caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

import backend.pages
from backend import store
from backend.access import install_access
from backend.api import api_router, health_router
from backend.api.errors import domain_error_json, http_error_json, validation_error_json, validation_message
from backend.errors import DomainError
from backend.pages.errors import error_page
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


def _wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith(("/api/", "/docs", "/openapi")) or path == "/healthz" or path.endswith(".json")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        if _wants_json(request):
            return domain_error_json(exc)
        return error_page(request, exc.status_code, exc.title, exc.message)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        if _wants_json(request):
            return http_error_json(exc)
        return error_page(
            request, exc.status_code, str(exc.detail), "Check the address, or go back to the runs."
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if _wants_json(request):
            return validation_error_json(exc)
        return error_page(request, 422, "Invalid request", validation_message(exc))


def create_app() -> FastAPI:
    app = FastAPI(
        lifespan=lifespan,
        title="XLT Lab",
        description="Zero-shot cross-lingual transfer runs: submit, queue, track and compare.",
        version="0.1.0",
    )
    install_error_handlers(app)
    install_access(app)
    app.include_router(api_router)
    app.include_router(health_router)
    app.include_router(backend.pages.router)
    STATIC.mkdir(parents=True, exist_ok=True)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
