"""/api/runs: submit, list, read, scores, history, cancel, retry, tags and notes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query, Response
from pydantic import BaseModel

from backend import queue, store
from backend.api.errors import not_found
from backend.api.responses import pydantic_json
from backend.run_configs import validate_config
from backend.schemas import MetricSeries, RunOut, RunPage, ScoreOut
from backend.settings import get_settings
from worker.training.config import RunConfig

router = APIRouter(tags=["runs"])


class RunCreated(BaseModel):
    id: int
    status: str
    queue: str
    experiment_id: int | None = None


class TagsIn(BaseModel):
    tags: list[str]


class NotesIn(BaseModel):
    notes: str


def submit(
    config: RunConfig, *, experiment_id: int | None, tags: list[str], retry_of: int | None = None
) -> RunCreated:
    """Insert the queued run, then (after the commit) send its task; a broker failure fails the run."""
    name = queue.queue_for(config)
    task_id = queue.new_task_id()
    run = store.create_run(
        config, queue=name, task_id=task_id, experiment_id=experiment_id, tags=tags, retry_of=retry_of
    )
    try:
        queue.enqueue_run(run.id, name, task_id)
    except Exception as exc:
        store.fail_run(run.id, f"could not reach the broker: {exc}")
        raise HTTPException(
            status_code=503, detail=f"run {run.id} not queued: broker unreachable ({exc})"
        ) from exc
    return RunCreated(id=run.id, status="queued", queue=name, experiment_id=experiment_id)


@router.post("/runs", status_code=201, response_model=RunCreated, summary="Submit a run config")
def create_run(
    config: Annotated[dict[str, Any], Body(description="a run config (worker/training/config.py)")],
    experiment_id: int | None = None,
    tag: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI copies defaults)
) -> RunCreated:
    parsed = validate_config(config, get_settings().data_dir)
    if experiment_id is not None and store.get_experiment(experiment_id) is None:
        raise HTTPException(status_code=422, detail=f"experiment_id: no experiment {experiment_id}")
    return submit(parsed, experiment_id=experiment_id, tags=tag)


@router.get("/runs", response_model=RunPage, summary="List runs with filters, sort and pagination")
def list_runs(
    experiment: int | None = None,
    status: Annotated[list[str], Query(description="repeat or comma-separate")] = [],  # noqa: B006
    task: str | None = None,
    model: str | None = None,
    method: str | None = None,
    tag: str | None = None,
    seed: int | None = None,
    q: str | None = Query(None, description="substring of name or model"),
    sort: str = Query("-created_at", description="column, '-' prefix for descending"),
    page: int = Query(1, ge=1),
    page_size: int = Query(50, ge=1, le=5000),
) -> Response:
    statuses = [s for item in status for s in item.split(",") if s]
    try:
        page_of_runs = store.list_runs(
            experiment_id=experiment,
            status=statuses or None,
            task=task,
            model=model,
            method=method,
            tag=tag,
            seed=seed,
            search=q,
            sort=sort,
            page=page,
            page_size=page_size,
        )
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    return pydantic_json(page_of_runs)


@router.get("/runs/{run_id}", response_model=RunOut)
def get_run(run_id: int) -> RunOut:
    run = store.get_run(run_id)
    if run is None:
        raise not_found(f"run {run_id}")
    return run


@router.get("/runs/{run_id}/scores", response_model=list[ScoreOut])
def get_scores(run_id: int) -> list[ScoreOut]:
    scores = store.get_scores(run_id)
    if not scores and not store.run_exists(run_id):
        raise not_found(f"run {run_id}")
    return scores


@router.get("/runs/{run_id}/history", response_model=list[MetricSeries])
def get_history(
    run_id: int,
    max_points: int = Query(1000, ge=2, le=1000),
    name: Annotated[list[str], Query(description="only these series (loss, lr, dev_accuracy …)")] = [],  # noqa: B006
) -> Response:
    history = store.get_history(run_id, max_points=max_points, names=name or None)
    if not history and not store.run_exists(run_id):
        raise not_found(f"run {run_id}")
    return pydantic_json(history)


@router.post("/runs/{run_id}/cancel", response_model=RunOut, summary="Cancel a queued or running run")
def cancel_run(run_id: int) -> RunOut:
    run = store.get_run(run_id)
    if run is None:
        raise not_found(f"run {run_id}")
    if run.status not in ("queued", "running"):
        raise HTTPException(status_code=409, detail=f"run {run_id} is already {run.status}")
    cancelled = store.request_cancel(run_id)
    assert cancelled is not None
    return cancelled


@router.post(
    "/runs/{run_id}/retry", status_code=201, response_model=RunCreated, summary="A new run, same config"
)
def retry_run(run_id: int) -> RunCreated:
    run = store.get_run(run_id)
    if run is None:
        raise not_found(f"run {run_id}")
    config = RunConfig.model_validate(run.config)
    return submit(config, experiment_id=run.experiment_id, tags=run.tags, retry_of=run_id)


@router.put("/runs/{run_id}/tags", response_model=list[str])
def put_tags(run_id: int, body: TagsIn) -> list[str]:
    if not store.run_exists(run_id):
        raise not_found(f"run {run_id}")
    return store.set_tags(run_id, body.tags)


@router.put("/runs/{run_id}/notes", response_model=RunOut)
def put_notes(run_id: int, body: NotesIn) -> RunOut:
    if not store.run_exists(run_id):
        raise not_found(f"run {run_id}")
    store.set_notes(run_id, body.notes)
    return get_run(run_id)
