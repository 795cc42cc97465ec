"""/api/sweeps: a base config and a grid over dotted config fields → one experiment with all runs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from backend.access import CurrentUser
from backend.schemas import MAX_TAGS, LongText, Name, SweepCreated, Tag
from backend.services import runs

router = APIRouter(tags=["sweeps"])


class SweepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name = "sweep"
    description: LongText = ""
    base: dict[str, Any] = Field(description="a run config shared by every run")
    grid: dict[str, list[Any]] = Field(
        description="dotted config field → values, e.g. "
        "{'robust.method': ['none', 'rs_rp'], 'train.seed': [1, 2]}; at most 1,000 "
        "combinations (checked before any is built)"
    )
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)


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
