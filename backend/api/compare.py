"""/api/compare: runs grouped by everything but the seed, mean ± std (n) per language, baseline deltas."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from backend.api.responses import pydantic_json
from backend.params import ExperimentFilter
from backend.run_ids import parse_run_ids
from backend.run_matches import MAX_MATCHES, parse_run_matches
from backend.schemas import CompareResult
from backend.services.compare import compare_runs

router = APIRouter(tags=["compare"])


@router.get("/compare", response_model=CompareResult)
def compare(
    runs: Annotated[
        list[str], Query(description="run ids, comma-separated or repeated", max_length=1000)
    ] = [],  # noqa: B006
    baseline: str | None = Query(
        None, max_length=1000, description="a group key, or run:<id> for the group of that run"
    ),
    metric: str = Query("accuracy", max_length=32),
    experiment: ExperimentFilter = None,
    match: Annotated[
        list[str],
        Query(
            description="a group of runs named by filters, as a query string "
            "(model=…&method=…&task=…&tag=…&seed=…&experiment=…&status=…), repeated",
            max_length=MAX_MATCHES,
        ),
    ] = [],  # noqa: B006
) -> Response:
    result = compare_runs(
        parse_run_ids(runs),
        experiment_id=experiment,
        matches=[m.filters() for m in parse_run_matches(match)],
        baseline=baseline,
        metric=metric,
    )
    return pydantic_json(result)
