"""/api/experiments: named groups of runs (a sweep or a study makes one), and a study's report."""

from __future__ import annotations

from fastapi import APIRouter, Response

from backend.api.responses import pydantic_json
from backend.params import ExperimentId
from backend.schemas import ExperimentOut
from backend.services import experiments, studies
from backend.studies.report_models import StudyReport

router = APIRouter(tags=["experiments"])


@router.get("/experiments", response_model=list[ExperimentOut])
def list_experiments() -> list[ExperimentOut]:
    return experiments.list_experiments()


@router.get("/experiments/{experiment_id}", response_model=ExperimentOut)
def get_experiment(experiment_id: ExperimentId) -> ExperimentOut:
    return experiments.get_experiment(experiment_id)


@router.get(
    "/experiments/{experiment_id}/report",
    response_model=StudyReport,
    summary="A study's report: deltas with intervals, Holm-corrected tests, verdicts, excluded runs",
)
def get_report(experiment_id: ExperimentId) -> Response:
    """Built from the experiment's finished runs against its baseline; 409 while none has finished
    or when the runs cannot be compared."""
    return pydantic_json(studies.study_report(experiment_id))
