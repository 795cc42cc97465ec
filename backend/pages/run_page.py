"""`/runs/{id}`: one run — config, live progress and loss, error, per-language results — with its
actions (cancel, retry, clone, share) and exports (CSV, JSON)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backend import store
from backend.api.runs import retry_run
from backend.exports import run_scores_csv, run_scores_json
from backend.figures.run_figures import loss_curve
from backend.pages.templating import render
from backend.pages.views import ACTIVE, run_view
from backend.schemas import RunOut

router = APIRouter()


def _run_or_404(run_id: int) -> RunOut:
    run = store.get_run(run_id)
    if run is None:
        raise HTTPException(status_code=404, detail=f"run {run_id} not found")
    return run


@router.get("/runs/{run_id}", response_class=HTMLResponse, include_in_schema=False)
def run_page(request: Request, run_id: int) -> HTMLResponse:
    run = store.get_run(run_id)
    if run is None:
        context = {
            "heading": f"No run #{run_id}",
            "message": "It may have been removed, or the link is mistyped.",
        }
        return render(request, "not_found.html", context, status_code=404)
    context = run_view(run) | {"nav": "runs", "shared": False, "export_base": f"/runs/{run_id}/export"}
    return render(request, "run.html", context)


@router.get("/runs/{run_id}/live.json", include_in_schema=False)
def run_live(run_id: int) -> dict[str, Any]:
    """What the run page refreshes while the run is queued or running: status, progress, loss curve."""
    run = _run_or_404(run_id)
    return {
        "status": run.status,
        "progress": run.progress,
        "stage": run.stage,
        "active": run.status in ACTIVE,
        "loss": loss_curve(store.get_history(run_id, max_points=500)),
    }


@router.post("/runs/{run_id}/cancel", include_in_schema=False)
def cancel(run_id: int) -> RedirectResponse:
    _run_or_404(run_id)
    store.request_cancel(run_id)
    return RedirectResponse(f"/runs/{run_id}", status_code=303)


@router.post("/runs/{run_id}/retry", include_in_schema=False)
def retry(run_id: int) -> RedirectResponse:
    created = retry_run(run_id)
    return RedirectResponse(f"/runs/{created.id}", status_code=303)


@router.get("/runs/{run_id}/export.{fmt}", include_in_schema=False)
def export_run(run_id: int, fmt: str) -> Response:
    run = _run_or_404(run_id)
    return run_export(run, fmt)


def run_export(run: RunOut, fmt: str) -> Response:
    scores = store.get_scores(run.id)
    name = f"xlt-run-{run.id}-scores"
    if fmt == "csv":
        return download(run_scores_csv(run, scores), "text/csv", f"{name}.csv")
    if fmt == "json":
        return download(run_scores_json(run, scores), "application/json", f"{name}.json")
    raise HTTPException(status_code=404, detail=f"no export '{fmt}' (csv or json)")


def download(body: str, media_type: str, filename: str) -> Response:
    return Response(
        body,
        media_type=f"{media_type}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
