"""/api/experiments: named groups of runs (a sweep makes one)."""

from __future__ import annotations

from fastapi import APIRouter

from backend.params import ExperimentId
from backend.schemas import ExperimentOut
from backend.services import experiments

router = APIRouter(tags=["experiments"])


@router.get("/experiments", response_model=list[ExperimentOut])
def list_experiments() -> list[ExperimentOut]:
    return experiments.list_experiments()


@router.get("/experiments/{experiment_id}", response_model=ExperimentOut)
def get_experiment(experiment_id: ExperimentId) -> ExperimentOut:
    return experiments.get_experiment(experiment_id)
