"""/api/runs/import: one finished run from a results.json document (what `xlt train --out` writes)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from backend.access import CurrentUser
from backend.schemas import RunCreated
from backend.services import run_imports

router = APIRouter(tags=["runs"])
RESULTS_JSON = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object", "description": "a results.json"}}},
    }
}


async def _body(request: Request) -> bytes:
    return await request.body()


@router.post(
    "/runs/import",
    status_code=201,
    response_model=RunCreated,
    summary="Import one finished run (a results.json)",
    openapi_extra=RESULTS_JSON,
)
def import_run(
    user: CurrentUser,
    document: Annotated[bytes, Depends(_body)],
    experiment: str | None = Query(None, description="join the newest experiment of this name"),
    tag: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI copies defaults)
) -> RunCreated:
    """A document that is no finished run is a 422 naming the problem, and nothing is stored."""
    return run_imports.import_results_json(document, actor=user, experiment_name=experiment, tags=tag)
