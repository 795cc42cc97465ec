"""The vocabulary the backend reads from the contract modules: run statuses, robust methods, labels."""

from __future__ import annotations

from typing import get_args

from worker.training.config import (
    METHOD_LABELS,
    METHOD_PARAMS,
    ROBUST_METHODS,
    RobustConfig,
    RobustMethod,
    RunConfig,
)
from worker.training.results import ACTIVE_STATUSES, FINISHED_STATUSES, RUN_STATUSES


def test_every_robust_method_has_a_label_and_parameters_that_are_robust_config_fields() -> None:
    assert tuple(ROBUST_METHODS) == get_args(RobustMethod) == tuple(METHOD_PARAMS)
    params = [p for ps in METHOD_PARAMS.values() for p in ps]
    assert len(params) == len(set(params))  # each parameter belongs to one method
    assert set(params) == set(RobustConfig.model_fields) - {"method"}  # and every parameter to one


def test_method_labels_are_the_labels_runs_get() -> None:
    labels = {
        RunConfig.model_validate(
            {"task": "xnli", "model": "m", "intermediate": stage, "robust": {"method": method}}
        ).method_label
        for stage in (None, {"task": "stsb"})
        for method in get_args(RobustMethod)
    }
    assert labels == set(METHOD_LABELS) and METHOD_LABELS[0] == "baseline"


def test_active_and_finished_statuses_split_the_status_vocabulary() -> None:
    assert set(ACTIVE_STATUSES) | set(FINISHED_STATUSES) == set(RUN_STATUSES)
    assert not set(ACTIVE_STATUSES) & set(FINISHED_STATUSES)
