"""/api/sweeps: a base config and a grid over dotted config fields → one experiment with all runs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from backend.access import CurrentUser
from backend.schemas import SweepCreated
from backend.services import runs

router = APIRouter(tags=["sweeps"])


class SweepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="sweep", max_length=200)
    description: str = ""
    base: dict[str, Any] = Field(description="a run config shared by every run")
    grid: dict[str, list[Any]] = Field(
        description="dotted config field → values, e.g. "
        "{'robust.method': ['none', 'rs_rp'], 'train.seed': [1, 2]}"
    )
    tags: list[str] = Field(default_factory=list)


@router.post("/sweeps", status_code=201, response_model=SweepCreated, summary="Submit a grid of runs")
def create_sweep(body: SweepIn, user: CurrentUser) -> SweepCreated:
    """An invalid grid point is a 422 naming it, and nothing is stored."""
    return runs.submit_sweep(
        name=body.name,
        base=body.base,
        grid=body.grid,
        description=body.description,
        tags=body.tags,
        actor=user,
    )
