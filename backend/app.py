"""The FastAPI application: JSON API, health, dashboard pages and their static files.

Errors are answered in the caller's language: JSON `{"message", "detail"}` for the API, health and
the pages' JSON feeds; an HTML error page for everything else. The status code is the same either
way (domain errors carry theirs, see backend.errors); a database that is down or busy is a 503
"database unavailable: …" until it answers again.

Runs whose worker was lost are not this process's business: the dispatcher (worker/dispatcher.py)
that `xlt serve` and every `xlt worker` start re-queues them.

Access (backend.access) wraps everything: browser guards (Host, same-origin posts, security
headers), the session cookie, and the deny-by-default gate that resolves the caller.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException

import backend.pages
from backend.access import install_access
from backend.api import api_router, health_router
from backend.api.errors import domain_error_json, http_error_json, validation_error_json, validation_message
from backend.api.mlflow import router as mlflow_router
from backend.db import is_unavailable
from backend.errors import DomainError, Unavailable
from backend.pages.errors import error_page

STATIC = Path(__file__).resolve().parent.parent / "frontend" / "static"


def _wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith(("/api/", "/docs", "/openapi")) or path == "/healthz" or path.endswith(".json")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        if _wants_json(request):
            return domain_error_json(exc)
        return error_page(request, exc.status_code, exc.title, exc.message)

    @app.exception_handler(SQLAlchemyError)
    async def _database(request: Request, exc: SQLAlchemyError) -> Response:
        """The database is down or busy: 503 saying so (pre-ping reconnects once it is back)."""
        if not is_unavailable(exc):
            raise exc
        cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        return await _domain(
            request, Unavailable(f"database unavailable: {cause[0] if cause else 'no answer'}")
        )

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
        title="XLT Lab",
        description="Zero-shot cross-lingual transfer runs: submit, queue, track and compare.",
        version="0.1.0",
    )
    install_error_handlers(app)
    install_access(app)
    app.include_router(api_router)
    app.include_router(mlflow_router)  # /api/2.0/mlflow: MLflow-compatible logging
    app.include_router(health_router)
    app.include_router(backend.pages.router)
    STATIC.mkdir(parents=True, exist_ok=True)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
