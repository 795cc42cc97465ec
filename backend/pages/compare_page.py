"""`/compare?runs=1,2,3&baseline=…`: runs grouped by everything but the seed, charts and table, exports."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from backend.pages.downloads import compare_export
from backend.pages.templating import render
from backend.pages.views import compare_view
from backend.params import ExperimentFilter
from backend.run_ids import parse_run_ids
from backend.services.compare import NothingToCompare, compare_runs

router = APIRouter()

RunsQuery = Annotated[list[str], Query(max_length=1000)]
Baseline = Annotated[str | None, Query(max_length=1000)]


@router.get("/compare", response_class=HTMLResponse, include_in_schema=False)
def compare_page(
    request: Request,
    runs: RunsQuery = [],  # noqa: B006
    baseline: Baseline = None,
    experiment: ExperimentFilter = None,
) -> HTMLResponse:
    try:
        result = compare_runs(
            parse_run_ids(runs), experiment_id=experiment, baseline=baseline, default_baseline=True
        )
    except NothingToCompare:  # nothing picked yet (or an experiment with no finished run): how to pick
        return render(request, "compare_empty.html", {"nav": "runs"})
    run_ids = [i for g in result.groups for i in g.run_ids]
    context = compare_view(result) | {
        "nav": "runs",
        "shared": False,
        "run_ids": run_ids,
        "export_base": "/compare/export",
        "export_query": "?"
        + urlencode({"runs": ",".join(map(str, run_ids)), "baseline": result.baseline or ""}),
    }
    return render(request, "compare.html", context)


@router.get("/compare/export.{fmt}", include_in_schema=False)
def compare_export_page(
    fmt: str,
    runs: RunsQuery = [],  # noqa: B006
    baseline: Baseline = None,
    experiment: ExperimentFilter = None,
) -> Response:
    return compare_export(compare_runs(parse_run_ids(runs), experiment_id=experiment, baseline=baseline), fmt)
