"""/api/experiments: named groups of runs (a sweep makes one)."""

from __future__ import annotations

from fastapi import APIRouter

from backend import store
from backend.api.errors import not_found
from backend.schemas import ExperimentOut

router = APIRouter(tags=["experiments"])


@router.get("/experiments", response_model=list[ExperimentOut])
def list_experiments() -> list[ExperimentOut]:
    return store.list_experiments()


@router.get("/experiments/{experiment_id}", response_model=ExperimentOut)
def get_experiment(experiment_id: int) -> ExperimentOut:
    experiment = store.get_experiment(experiment_id)
    if experiment is None:
        raise not_found(f"experiment {experiment_id}")
    return experiment
