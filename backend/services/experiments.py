"""Experiments: named groups of runs (a sweep makes one)."""

from __future__ import annotations

from backend import store
from backend.errors import NotFound
from backend.schemas import ExperimentOut


def list_experiments() -> list[ExperimentOut]:
    return store.list_experiments()


def get_experiment(experiment_id: int) -> ExperimentOut:
    experiment = store.get_experiment(experiment_id)
    if experiment is None:
        raise NotFound(f"experiment {experiment_id} not found")
    return experiment
