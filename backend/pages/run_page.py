"""`/runs/{id}`: one run — config, live progress and loss, error, per-language results — with its
actions (cancel, retry, clone, share) and exports (CSV, JSON)."""

from __future__ import annotations

import contextlib
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backend.access import CurrentUser
from backend.errors import Conflict
from backend.figures.run_figures import loss_curve
from backend.pages.downloads import run_export
from backend.pages.templating import render
from backend.pages.views import run_view
from backend.params import RunId
from backend.services import runs
from worker.training.results import ACTIVE_STATUSES

router = APIRouter()


@router.get("/runs/{run_id}", response_class=HTMLResponse, include_in_schema=False)
def run_page(request: Request, run_id: RunId) -> HTMLResponse:
    context = run_view(runs.run_details(run_id))
    context |= {"nav": "runs", "shared": False, "export_base": f"/runs/{run_id}/export"}
    return render(request, "run.html", context)


@router.get("/runs/{run_id}/live.json", include_in_schema=False)
def run_live(run_id: RunId) -> dict[str, Any]:
    """What the run page refreshes while the run is queued or running: status, progress, loss curve."""
    details = runs.run_details(run_id)
    run = details.run
    return {
        "status": run.status,
        "progress": run.progress,
        "stage": run.stage,
        "active": run.status in ACTIVE_STATUSES,
        "note": details.queue_note,
        "loss": loss_curve(details.history),
    }


@router.post("/runs/{run_id}/cancel", include_in_schema=False)
def cancel(run_id: RunId, user: CurrentUser) -> RedirectResponse:
    """Back to the run page; a run that finished meanwhile simply shows how it ended."""
    with contextlib.suppress(Conflict):
        runs.cancel_run(run_id, actor=user)
    return RedirectResponse(f"/runs/{run_id}", status_code=303)


@router.post("/runs/{run_id}/retry", include_in_schema=False)
def retry(run_id: RunId, user: CurrentUser) -> RedirectResponse:
    created = runs.retry_run(run_id, actor=user)
    return RedirectResponse(f"/runs/{created.id}", status_code=303)


@router.get("/runs/{run_id}/export.{fmt}", include_in_schema=False)
def export_run(run_id: RunId, fmt: str) -> Response:
    details = runs.run_details(run_id, with_history=False)
    return run_export(details.run, details.scores, fmt)
