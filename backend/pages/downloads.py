"""File downloads of the run and compare pages (and their shared views): CSV, JSON and LaTeX exports.

The bodies come from backend.exports; this module only names the file and sets the content type.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi.responses import Response

from backend.errors import NotFound
from backend.exports import compare_csv, compare_json, compare_latex, run_scores_csv, run_scores_json
from backend.schemas import CompareResult, RunOut, ScoreOut


def download(body: str, media_type: str, filename: str) -> Response:
    return Response(
        body,
        media_type=f"{media_type}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def run_export(run: RunOut, scores: Sequence[ScoreOut], fmt: str) -> Response:
    name = f"xlt-run-{run.id}-scores"
    if fmt == "csv":
        return download(run_scores_csv(run, scores), "text/csv", f"{name}.csv")
    if fmt == "json":
        return download(run_scores_json(run, scores), "application/json", f"{name}.json")
    raise NotFound(f"no export '{fmt}' (csv or json)")


def compare_export(result: CompareResult, fmt: str) -> Response:
    if fmt == "csv":
        return download(compare_csv(result), "text/csv", "xlt-compare.csv")
    if fmt == "json":
        return download(compare_json(result), "application/json", "xlt-compare.json")
    if fmt == "tex":
        return download(compare_latex(result), "application/x-tex", "xlt-compare.tex")
    raise NotFound(f"no export '{fmt}' (csv, json or tex)")
