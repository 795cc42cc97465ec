"""`/`: the runs table (filters, sorting, pagination, select → compare) and its live status feed."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from backend import store
from backend.pages.templating import render
from backend.pages.views import ACTIVE, parse_run_ids
from worker.training.results import RunStatus

router = APIRouter()

STATUSES: tuple[RunStatus, ...] = ("queued", "running", "succeeded", "failed", "cancelled")
METHODS = ("baseline", "rs_da", "rs_rp", "adv", "stsb", "stsb+rs_da", "stsb+rs_rp", "stsb+adv")
TEXT_COLUMNS = ("name", "task", "model", "method", "status")
PAGE_SIZES = (25, 50, 100, 200)
COLUMNS = [
    ("id", "ID"),
    ("name", "Name"),
    ("task", "Task"),
    ("model", "Model"),
    ("method", "Method"),
    ("seed", "Seed"),
    ("status", "Status"),
    ("progress", "Progress"),
    ("average", "Avg acc."),
    ("created_at", "Created"),
]


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def runs_page(
    request: Request,
    task: str = "",
    model: str = "",
    method: str = "",
    status: str = "",
    experiment: str = "",
    tag: str = "",
    q: str = "",
    sort: str = "-created_at",
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> HTMLResponse:
    filters = {
        "task": task,
        "model": model,
        "method": method,
        "status": status,
        "experiment": experiment,
        "tag": tag,
        "q": q,
    }
    if sort.lstrip("-") not in dict(COLUMNS):
        sort = "-created_at"
    result = store.list_runs(
        experiment_id=int(experiment) if experiment.isdigit() else None,
        status=[status] if status else None,
        task=task or None,
        model=model or None,
        method=method or None,
        tag=tag or None,
        search=q or None,
        sort=sort,
        page=page,
        page_size=page_size,
    )
    key = sort.lstrip("-")
    sort_links = {
        col: (col if sort.startswith("-") else f"-{col}")
        if col == key
        else (col if col in TEXT_COLUMNS else f"-{col}")
        for col, _ in COLUMNS
    }
    context: dict[str, Any] = {
        "sort_links": sort_links,
        "nav": "runs",
        "page": result,
        "filters": filters,
        "active_filters": {k: v for k, v in filters.items() if v},
        "sort": sort,
        "columns": COLUMNS,
        "statuses": STATUSES,
        "methods": METHODS,
        "tasks": ("xnli", "pawsx"),
        "experiments": store.list_experiments(),
        "tags": store.list_tags(),
        "page_sizes": PAGE_SIZES,
        "pages": (result.total + result.page_size - 1) // result.page_size,
    }
    return render(request, "runs.html", context)


@router.get("/experiments/{experiment_id}", include_in_schema=False)
def experiment_page(experiment_id: int) -> RedirectResponse:
    """An experiment (a sweep) is its runs: the runs table filtered to it, with "Compare" one click away."""
    return RedirectResponse(f"/?experiment={experiment_id}", status_code=307)


@router.get("/runs/live.json", include_in_schema=False)
def runs_live(ids: str = "") -> list[dict[str, Any]]:
    """Status, progress and average of the given runs, for the progress bars of the runs table."""
    return [
        {
            "id": r.id,
            "status": r.status,
            "progress": r.progress,
            "stage": r.stage,
            "average": r.average,
            "active": r.status in ACTIVE,
        }
        for r in store.get_runs(parse_run_ids([ids])[:500])
    ]
