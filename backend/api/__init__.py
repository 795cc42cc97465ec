"""The JSON API under /api (OpenAPI at /docs) and /healthz: one module per resource."""

from fastapi import APIRouter

from backend.api import compare, experiments, health, me, run_imports, runs, share_links, studies, sweeps

api_router = APIRouter(prefix="/api")
api_router.include_router(run_imports.router)
api_router.include_router(runs.router)
api_router.include_router(sweeps.router)
api_router.include_router(studies.router)
api_router.include_router(experiments.router)
api_router.include_router(compare.router)
api_router.include_router(share_links.router)
api_router.include_router(me.router)

health_router = health.router

__all__ = ["api_router", "health_router"]
