"""/api/compare: runs grouped by everything but the seed, mean ± std (n) per language, baseline deltas."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response

from backend import store
from backend.api.responses import pydantic_json
from backend.compare import build_compare
from backend.schemas import CompareResult

router = APIRouter(tags=["compare"])


def parse_run_ids(values: list[str]) -> list[int]:
    ids = []
    for item in values:
        for part in item.split(","):
            part = part.strip()
            if not part:
                continue
            if not part.isdigit():
                raise HTTPException(status_code=422, detail=f"runs: '{part}' is not a run id")
            ids.append(int(part))
    return list(dict.fromkeys(ids))


def compare_runs(run_ids: list[int], baseline: str | None, metric: str) -> CompareResult:
    """Shared by the API and the compare page."""
    runs, scores = store.compare_inputs(run_ids, metric)
    missing = sorted(set(run_ids) - {r.id for r in runs})
    if missing:
        raise HTTPException(status_code=404, detail=f"runs not found: {', '.join(map(str, missing))}")
    return build_compare(runs, scores, metric, baseline)


@router.get("/compare", response_model=CompareResult)
def compare(
    runs: Annotated[list[str], Query(description="run ids, comma-separated or repeated")] = [],  # noqa: B006
    baseline: str | None = Query(None, description="a group key, or run:<id> for the group of that run"),
    metric: str = "accuracy",
    experiment: int | None = Query(None, description="compare the succeeded runs of this experiment"),
) -> Response:
    run_ids = parse_run_ids(runs)
    if experiment is not None:
        if store.get_experiment(experiment) is None:
            raise HTTPException(status_code=404, detail=f"experiment {experiment} not found")
        run_ids += [i for i in store.run_ids_of_experiment(experiment) if i not in run_ids]
    if not run_ids:
        raise HTTPException(status_code=422, detail="runs: give at least one run id (or experiment)")
    return pydantic_json(compare_runs(run_ids, baseline, metric))
