"""/api/sweeps: a base config and a grid over dotted config fields → one experiment with all runs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from backend import queue, store
from backend.run_configs import validate_sweep
from backend.settings import get_settings

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


class SweepCreated(BaseModel):
    experiment_id: int
    run_ids: list[int]


@router.post("/sweeps", status_code=201, response_model=SweepCreated, summary="Submit a grid of runs")
def create_sweep(body: SweepIn) -> SweepCreated:
    configs = validate_sweep(
        body.base, body.grid, get_settings().data_dir
    )  # ConfigError → 422, nothing stored
    planned = [(cfg, queue.queue_for(cfg), queue.new_task_id()) for cfg in configs]
    spec = {"base": body.base, "grid": body.grid}
    experiment, run_ids = store.create_sweep(body.name, body.description, spec, planned, tags=body.tags)
    for i, (run_id, (_cfg, name, task_id)) in enumerate(zip(run_ids, planned, strict=True)):
        try:
            queue.enqueue_run(run_id, name, task_id)
        except Exception as exc:
            for later in run_ids[i:]:
                store.fail_run(later, f"could not reach the broker: {exc}")
            raise HTTPException(
                status_code=503, detail=f"broker unreachable after {i} runs queued ({exc})"
            ) from exc
    return SweepCreated(experiment_id=experiment.id, run_ids=run_ids)
