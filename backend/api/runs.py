"""/api/runs: submit, list, read, scores, history, cancel, retry, tags and notes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from backend.access import CurrentUser
from backend.api.responses import pydantic_json
from backend.params import (
    ExperimentFilter,
    ModelFilter,
    OwnerFilter,
    PageNumber,
    RunId,
    SearchFilter,
    SeedFilter,
    ShortFilter,
    TagFilter,
)
from backend.schemas import MAX_TAGS, LongText, MetricSeries, RunCreated, RunOut, RunPage, ScoreOut, Tag
from backend.services import runs
from worker.training.config import RunConfig

router = APIRouter(tags=["runs"])


class TagsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tags: list[Tag] = Field(max_length=MAX_TAGS)


class NotesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    notes: LongText


@router.post("/runs", status_code=201, response_model=RunCreated, summary="Submit a run config")
def create_run(
    user: CurrentUser,
    config: Annotated[
        RunConfig | dict[str, Any],
        Field(union_mode="left_to_right"),
        Body(
            description="a run config (worker/training/config.py); `data: {source: local}` without "
            "`dir` uses the server's XLT_DATA_DIR"
        ),
    ],
    experiment_id: ExperimentFilter = None,
    tag: Annotated[list[str], Query(max_length=MAX_TAGS)] = [],  # noqa: B006 (FastAPI copies defaults)
) -> RunCreated:
    return runs.submit_run(config, experiment_id=experiment_id, tags=tag, actor=user)


@router.get("/runs", response_model=RunPage, summary="List runs with filters, sort and pagination")
def list_runs(
    experiment: ExperimentFilter = None,
    status: Annotated[list[str], Query(description="repeat or comma-separate", max_length=20)] = [],  # noqa: B006
    task: ShortFilter = None,
    model: ModelFilter = None,
    method: ShortFilter = None,
    tag: TagFilter = None,
    seed: SeedFilter = None,
    owner: OwnerFilter = None,
    q: SearchFilter = None,
    sort: str = Query("-created_at", max_length=64, description="column, '-' prefix for descending"),
    page: PageNumber = 1,
    page_size: int = Query(50, ge=1, le=5000),
) -> Response:
    query = runs.RunQuery(
        experiment_id=experiment,
        statuses=tuple(s for item in status for s in item.split(",") if s),
        task=task,
        model=model,
        method=method,
        tag=tag,
        seed=seed,
        search=q,
        owner=owner,
        sort=sort,
        page=page,
        page_size=page_size,
    )
    return pydantic_json(runs.list_runs(query))


@router.get("/runs/{run_id}", response_model=RunOut)
def get_run(run_id: RunId) -> RunOut:
    return runs.get_run(run_id)


@router.get("/runs/{run_id}/scores", response_model=list[ScoreOut])
def get_scores(run_id: RunId) -> list[ScoreOut]:
    return runs.get_scores(run_id)


@router.get("/runs/{run_id}/history", response_model=list[MetricSeries])
def get_history(
    run_id: RunId,
    max_points: int = Query(1000, ge=2, le=1000),
    name: Annotated[
        list[str], Query(description="only these series (loss, lr, dev_accuracy …)", max_length=20)
    ] = [],  # noqa: B006
) -> Response:
    return pydantic_json(runs.get_history(run_id, max_points=max_points, names=name))


@router.post("/runs/{run_id}/cancel", response_model=RunOut, summary="Cancel a queued or running run")
def cancel_run(run_id: RunId, user: CurrentUser) -> RunOut:
    return runs.cancel_run(run_id, actor=user)


@router.post(
    "/runs/{run_id}/retry", status_code=201, response_model=RunCreated, summary="A new run, same config"
)
def retry_run(run_id: RunId, user: CurrentUser) -> RunCreated:
    return runs.retry_run(run_id, actor=user)


@router.put("/runs/{run_id}/tags", response_model=list[str])
def put_tags(run_id: RunId, body: TagsIn, user: CurrentUser) -> list[str]:
    return runs.set_tags(run_id, body.tags, actor=user)


@router.put("/runs/{run_id}/notes", response_model=RunOut)
def put_notes(run_id: RunId, body: NotesIn, user: CurrentUser) -> RunOut:
    return runs.set_notes(run_id, body.notes, actor=user)
