"""The FastAPI application: JSON API, health, dashboard pages and their static files."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

import backend.pages
from backend.api import api_router, health_router
from backend.api.errors import install_error_handlers

STATIC = Path(__file__).resolve().parent.parent / "frontend" / "static"


def create_app() -> FastAPI:
    app = FastAPI(
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
