"""MLflow's entities in the JSON shape of its REST API (mlflow/protos/service.proto), as XLT Lab
answers them under /api/2.0/mlflow. Ids are strings (XLT's integer ids, written out); times are
milliseconds since the epoch; a metric value that is not finite is written "NaN" / "Infinity" /
"-Infinity", as protobuf's JSON mapping does."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from backend.errors import NotFound
from backend.run_ids import MAX_RUN_ID

DEFAULT_EXPERIMENT_ID = "0"  # MLflow's "Default" experiment: XLT Lab's runs of no experiment
DEFAULT_EXPERIMENT_NAME = "Default"
NOTE_TAG = "mlflow.note.content"  # MLflow's description of an experiment or run
RUN_NAME_TAG = "mlflow.runName"
USER_TAG = "mlflow.user"

# What the tables hold: int64 steps and timestamps; run start and end times that are dates (≤ 9999).
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
Millis = Annotated[int, Field(ge=0, le=253_402_300_799_999)]


class KeyValue(BaseModel):
    key: str
    value: str


class MetricOut(BaseModel):
    key: str
    value: float | str
    timestamp: int
    step: int = 0

    @classmethod
    def of(cls, key: str, value: float, timestamp: int, step: int) -> MetricOut:
        shown: float | str = value
        if math.isnan(value):
            shown = "NaN"
        elif math.isinf(value):
            shown = "Infinity" if value > 0 else "-Infinity"
        return cls(key=key, value=shown, timestamp=timestamp, step=step)


class ExperimentOut(BaseModel):
    experiment_id: str
    name: str
    artifact_location: str = ""
    lifecycle_stage: str = "active"
    creation_time: int | None = None
    last_update_time: int | None = None
    tags: list[KeyValue] = Field(default_factory=list)


class RunInfo(BaseModel):
    run_id: str
    run_uuid: str
    experiment_id: str
    run_name: str
    user_id: str = ""
    status: str
    start_time: int | None = None
    end_time: int | None = None
    artifact_uri: str = ""
    lifecycle_stage: str = "active"


class RunData(BaseModel):
    metrics: list[MetricOut] = Field(default_factory=list)
    params: list[KeyValue] = Field(default_factory=list)
    tags: list[KeyValue] = Field(default_factory=list)


class RunInputs(BaseModel):
    """Datasets a run used (MLflow's log_input): XLT Lab records none."""


class MlflowRun(BaseModel):
    info: RunInfo
    data: RunData = Field(default_factory=RunData)
    inputs: RunInputs = Field(default_factory=RunInputs)


class MetricIn(BaseModel):
    key: str
    value: float
    timestamp: Int64
    step: Int64 = 0


# ── ids: MLflow's strings, XLT's numbers ─────────────────────────────────────────────────────────


def ms(dt: datetime | None) -> int | None:
    return None if dt is None else int(dt.timestamp() * 1000)


def run_number(run_id: str) -> int:
    if not (run_id.isascii() and run_id.isdigit()) or int(run_id) > MAX_RUN_ID:
        raise NotFound(f"Run with id={run_id} not found")
    return int(run_id)


def experiment_number(experiment_id: str) -> int | None:
    """None for MLflow's Default experiment ("0": runs of no experiment)."""
    if experiment_id == DEFAULT_EXPERIMENT_ID:
        return None
    if not (experiment_id.isascii() and experiment_id.isdigit()) or int(experiment_id) > MAX_RUN_ID:
        raise NotFound(f"No Experiment with id={experiment_id} exists")
    return int(experiment_id)
