"""`/launch`: one form for a run or a sweep; "Clone and edit" opens it pre-filled (`/launch?from=<run id>`).

The form posts here; errors come back next to their fields (HTTP 422), a valid submission goes through
the same submit path as the JSON API and redirects to the run, or to the sweep's runs.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from backend.access import CurrentUser
from backend.figures.style import TIER_ORDER
from backend.pages.launch_form import form_values, model_suggestions, parse_launch_form
from backend.pages.templating import render
from backend.schemas import Principal
from backend.services import runs
from backend.services.permissions import require_role
from backend.settings import get_settings
from worker.training.config import DEFAULT_EPOCHS, METHOD_PARAM_SOURCES, ROBUST_METHODS
from worker.training.languages import DATASET_LANGUAGES, language

router = APIRouter()

MULTI = ("eval.languages", "eval.extra", "grid.methods")  # checkbox groups: lists even when one is ticked


def _context(
    values: dict[str, Any], errors: dict[str, list[str]], cloned_from: int | None = None
) -> dict[str, Any]:
    languages = {task: list(codes) for task, codes in DATASET_LANGUAGES.items() if task in DEFAULT_EPOCHS}
    codes = dict.fromkeys(sum(languages.values(), []))
    by_tier = {t: [c for c in codes if language(c).tier == t] for t in TIER_ORDER}
    return {
        "nav": "launch",
        "values": values,
        "errors": errors,
        "cloned_from": cloned_from,
        "task_languages": languages,
        "languages_by_tier": by_tier,
        "language_tasks": {c: " ".join(t for t, cs in languages.items() if c in cs) for c in codes},
        "default_epochs": DEFAULT_EPOCHS,
        "robust_methods": ROBUST_METHODS,
        "sources": METHOD_PARAM_SOURCES,  # where each method default comes from, shown as help
        "models": model_suggestions(),
        "data_dir": get_settings().data_dir or "",
    }


@router.get("/launch", response_class=HTMLResponse, include_in_schema=False)
def launch_page(
    request: Request,
    user: CurrentUser,
    from_run: Annotated[int | None, Query(alias="from", description="run to clone")] = None,
) -> HTMLResponse:
    require_role(user, "member", "launching a run")  # a viewer gets a 403 page, not a form that fails
    values = form_values()
    if from_run is not None:
        values = form_values(runs.get_run(from_run).config)
    elif get_settings().data_dir:  # this server has the datasets on disk: offline by default
        values |= {"data.source": "local", "data.dir": get_settings().data_dir}
    return render(request, "launch.html", _context(values, {}, from_run))


@router.post("/launch", include_in_schema=False)
async def launch_submit(request: Request, user: CurrentUser) -> Response:
    form = await request.form()
    raw: dict[str, Any] = {key: form.getlist(key) if key in MULTI else form.get(key) for key in form}
    return await run_in_threadpool(_launch, request, raw, user)  # the store and the broker are blocking


def _launch(request: Request, raw: dict[str, Any], user: Principal) -> Response:
    require_role(user, "member", "launching a run")
    parsed = parse_launch_form(raw, get_settings().data_dir)
    if parsed.errors:
        values = form_values() | raw | {k: raw.get(k, []) for k in MULTI}
        return render(request, "launch.html", _context(values, parsed.errors), status_code=422)
    if not parsed.is_sweep:
        created = runs.submit_run(parsed.configs[0], tags=parsed.tags, actor=user)
        return RedirectResponse(f"/runs/{created.id}", status_code=303)
    name = parsed.base.get("name") or f"{parsed.base['task']} sweep"
    sweep = runs.submit_sweep(name=name, base=parsed.base, grid=parsed.grid, tags=parsed.tags, actor=user)
    return RedirectResponse(f"/?experiment={sweep.experiment_id}", status_code=303)
