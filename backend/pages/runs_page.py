"""`/`: the runs table (filters, sorting, pagination, select → compare) and its live status feed."""

from __future__ import annotations

from typing import Annotated, Any, get_args

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from backend.pages.templating import render
from backend.params import PageNumber
from backend.run_ids import parse_run_ids
from backend.schemas import NAME_MAX_LENGTH, TAG_MAX_LENGTH, USER_NAME_MAX_LENGTH
from backend.services import runs
from worker.training.config import METHOD_LABELS, TaskName
from worker.training.results import ACTIVE_STATUSES, RUN_STATUSES, STUCK_AT_CHANCE

router = APIRouter()

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
    task: Annotated[str, Query(max_length=64)] = "",
    model: Annotated[str, Query(max_length=500)] = "",
    method: Annotated[str, Query(max_length=64)] = "",
    status: Annotated[str, Query(max_length=64)] = "",
    experiment: Annotated[str, Query(max_length=20)] = "",
    tag: Annotated[str, Query(max_length=TAG_MAX_LENGTH)] = "",
    owner: Annotated[str, Query(max_length=USER_NAME_MAX_LENGTH)] = "",
    q: Annotated[str, Query(max_length=NAME_MAX_LENGTH)] = "",
    sort: Annotated[str, Query(max_length=64)] = "-created_at",
    page: PageNumber = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> HTMLResponse:
    filters = {
        "task": task,
        "model": model,
        "method": method,
        "status": status,
        "experiment": experiment,
        "tag": tag,
        "owner": owner,
        "q": q,
    }
    if sort.lstrip("-") not in dict(COLUMNS):
        sort = "-created_at"
    experiment_id = parse_run_ids([experiment], "experiment", "an experiment id")[0] if experiment else None
    query = runs.RunQuery(
        experiment_id=experiment_id,
        statuses=(status,) if status else (),
        task=task or None,
        model=model or None,
        method=method or None,
        tag=tag or None,
        search=q or None,
        owner=owner or None,
        sort=sort,
        page=page,
        page_size=page_size,
    )
    table = runs.runs_table(query)
    result = table.page
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
        "statuses": RUN_STATUSES,
        "methods": METHOD_LABELS,
        "tasks": get_args(TaskName),
        "experiments": table.experiments,
        "tags": table.tags,
        "owners": table.owners,
        "page_sizes": PAGE_SIZES,
        "pages": (result.total + result.page_size - 1) // result.page_size,
    }
    return render(request, "runs.html", context)


@router.get("/runs/live.json", include_in_schema=False)
def runs_live(ids: Annotated[str, Query(max_length=10_000)] = "") -> list[dict[str, Any]]:
    """Status, progress, average and warnings of the given runs, for the live rows of the runs table."""
    return [
        {
            "id": r.id,
            "status": r.status,
            "progress": r.progress,
            "stage": r.stage,
            "average": r.average,
            "active": r.status in ACTIVE_STATUSES,
            "warnings": [w.message for w in r.warnings],
            "stuck": any(w.code == STUCK_AT_CHANCE for w in r.warnings),
        }
        for r in runs.get_runs(parse_run_ids([ids], field="ids")[:500])
    ]
