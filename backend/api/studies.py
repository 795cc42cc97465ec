"""/api/studies: a base config, methods and seeds → one experiment of kind `study` with every run;
its report is /api/experiments/{id}/report (backend/api/experiments.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from backend.access import CurrentUser
from backend.schemas import SweepCreated
from backend.services import studies

router = APIRouter(tags=["studies"])


class StudyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="study", max_length=200)
    description: str = ""
    base: dict[str, Any] = Field(
        description="a run config shared by every run (method and seed are set per run)"
    )
    methods: list[str] | None = Field(
        default=None,
        description="method labels, 'baseline' among them; default the paper's grid: "
        + ", ".join(studies.PAPER_METHODS),
    )
    seeds: list[int] | None = Field(default=None, description="training seeds; default 1, 2, 3")
    tags: list[str] = Field(default_factory=list)


@router.post("/studies", status_code=201, response_model=SweepCreated, summary="Submit a study")
def create_study(body: StudyIn, user: CurrentUser) -> SweepCreated:
    """Every method × seed as one experiment of kind `study`; a bad method, seed or config value is a
    422 naming the field, and nothing is stored."""
    return studies.submit_study(
        name=body.name,
        base=body.base,
        methods=body.methods,
        seeds=body.seeds,
        description=body.description,
        tags=body.tags,
        actor=user,
    )
