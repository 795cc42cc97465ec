"""`/experiments/{id}`: an experiment's page. Progress of all its runs (counts per status, the
method × seed grid), then, for a study, its report: verdicts per method × tier with delta, interval
and Holm-adjusted p, per-language deltas, item-level evidence, excluded runs and the rules; and the
report as Markdown, LaTeX, text or JSON."""

from __future__ import annotations

from typing import get_args

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from backend.errors import NotFound
from backend.pages.downloads import download
from backend.pages.study_views import experiment_view
from backend.pages.templating import render
from backend.params import ExperimentId
from backend.services import studies
from backend.studies.render import Format, render_report

router = APIRouter()

REPORT_FILES: dict[str, tuple[Format, str]] = {
    "md": ("markdown", "text/markdown"),
    "tex": ("latex", "application/x-tex"),
    "txt": ("table", "text/plain"),
    "json": ("json", "application/json"),
}
assert {f for f, _ in REPORT_FILES.values()} == set(get_args(Format))


@router.get("/experiments/{experiment_id}", response_class=HTMLResponse, include_in_schema=False)
def experiment_page(request: Request, experiment_id: ExperimentId) -> HTMLResponse:
    context = experiment_view(studies.experiment_overview(experiment_id)) | {"nav": "runs"}
    return render(request, "experiment.html", context)


@router.get("/experiments/{experiment_id}/report.{ext}", include_in_schema=False)
def report_download(experiment_id: ExperimentId, ext: str) -> Response:
    if ext not in REPORT_FILES:
        raise NotFound(f"no report format '{ext}' ({', '.join(REPORT_FILES)})")
    fmt, media_type = REPORT_FILES[ext]
    body = render_report(studies.study_report(experiment_id), fmt)
    return download(body, media_type, f"xlt-study-{experiment_id}-report.{ext}")
