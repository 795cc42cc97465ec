"""`/compare?runs=1,2,3&baseline=…`: runs grouped by everything but the seed, charts and table, exports."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from backend import store
from backend.exports import compare_csv, compare_json, compare_latex
from backend.pages.run_page import download
from backend.pages.templating import render
from backend.pages.views import compare_result, compare_view, default_baseline, parse_run_ids
from backend.schemas import CompareResult

router = APIRouter()

RunsQuery = Annotated[list[str], Query()]


def _run_ids(runs: list[str], experiment: str) -> list[int]:
    ids = parse_run_ids(runs)
    if experiment.isdigit():
        ids += [i for i in store.run_ids_of_experiment(int(experiment)) if i not in ids]
    return ids


@router.get("/compare", response_class=HTMLResponse, include_in_schema=False)
def compare_page(
    request: Request,
    runs: RunsQuery = [],  # noqa: B006
    baseline: str | None = None,
    experiment: str = "",
) -> HTMLResponse:
    run_ids = _run_ids(runs, experiment)
    if not run_ids:
        return render(request, "compare_empty.html", {"nav": "runs"})
    result = compare_result(run_ids, default_baseline(run_ids) if baseline is None else baseline)
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
    baseline: str | None = None,
    experiment: str = "",
) -> Response:
    return compare_export(compare_result(_run_ids(runs, experiment), baseline), fmt)


def compare_export(result: CompareResult, fmt: str) -> Response:
    if fmt == "csv":
        return download(compare_csv(result), "text/csv", "xlt-compare.csv")
    if fmt == "json":
        return download(compare_json(result), "application/json", "xlt-compare.json")
    if fmt == "tex":
        return download(compare_latex(result), "application/x-tex", "xlt-compare.tex")
    raise HTTPException(status_code=404, detail=f"no export '{fmt}' (csv, json or tex)")
