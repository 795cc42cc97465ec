"""`/launch`: one form for a run, a sweep or a study; "Clone and edit" opens it pre-filled
(`/launch?from=<run id>`).

The form posts here; errors come back next to their fields (HTTP 422), a valid submission goes through
the same submit path as the JSON API and redirects to the run, the sweep's runs, or the study's page.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from backend.access import CurrentUser
from backend.errors import Invalid
from backend.figures.style import TIER_ORDER
from backend.pages.launch_checks import form_checks, submitted_shape
from backend.pages.launch_form import (
    LaunchRequest,
    field_for_message,
    form_values,
    model_suggestions,
    parse_launch_form,
)
from backend.pages.launch_presets import LaunchPreset, local_task_data, offered_presets, preset_values
from backend.pages.templating import render
from backend.run_configs import ConfigError
from backend.schemas import MAX_DB_INT, Principal
from backend.services import runs, studies
from backend.services.permissions import require_role
from backend.settings import get_settings
from worker.training.config import DEFAULT_EPOCHS, METHOD_PARAM_SOURCES, ROBUST_METHODS
from worker.training.languages import DATASET_LANGUAGES, language

router = APIRouter()

MULTI = ("eval.languages", "eval.extra", "grid.methods")  # checkbox groups: lists even when one is ticked


def _context(
    values: dict[str, Any],
    errors: dict[str, list[str]],
    cloned_from: int | None = None,
    preset: LaunchPreset | None = None,
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
        "presets": offered_presets(),
        "preset": preset,
        "checks": form_checks(submitted_shape(values), get_settings().data_dir),
    }


@router.get("/launch", response_class=HTMLResponse, include_in_schema=False)
def launch_page(
    request: Request,
    user: CurrentUser,
    from_run: Annotated[
        int | None, Query(alias="from", ge=1, le=MAX_DB_INT, description="run to clone")
    ] = None,
    preset: Annotated[
        str | None, Query(max_length=100, description="fill in a preset (launch_presets.PRESETS)")
    ] = None,
) -> HTMLResponse:
    require_role(user, "member", "launching a run")  # a viewer gets a 403 page, not a form that fails
    values, chosen = form_values(), None
    if from_run is not None:
        values = form_values(runs.get_run(from_run).config)
    elif preset:
        chosen, filled = preset_values(preset, get_settings())
        values |= filled
    elif local := local_task_data(get_settings(), "xnli"):  # the datasets are on disk: offline by default
        values |= {"data.source": "local", "data.dir": local}
    return render(request, "launch.html", _context(values, {}, from_run, chosen))


@router.get("/launch/checks.json", include_in_schema=False)
def launch_checks(request: Request, user: CurrentUser) -> dict[str, str | None]:
    """The launch form's warnings as it changes: a missing local data folder, the CPU run-time estimate."""
    require_role(user, "member", "launching a run")  # members only: it says whether a folder exists
    query = request.query_params
    raw: dict[str, Any] = {key: query.getlist(key) if key in MULTI else query.get(key) for key in query}
    checks = form_checks(raw, get_settings().data_dir)
    return {"data_warning": checks.data_warning, "estimate": checks.estimate}


@router.post("/launch", include_in_schema=False)
async def launch_submit(request: Request, user: CurrentUser) -> Response:
    form = await request.form()
    raw: dict[str, Any] = {key: form.getlist(key) if key in MULTI else form.get(key) for key in form}
    return await run_in_threadpool(_launch, request, raw, user)  # the store and the broker are blocking


def _launch(request: Request, raw: dict[str, Any], user: Principal) -> Response:
    require_role(user, "member", "launching a run")
    parsed = parse_launch_form(raw, get_settings().data_dir)
    values = form_values() | raw | {k: raw.get(k, []) for k in MULTI}
    errors = parsed.errors
    if not errors:
        try:
            return _submit(parsed, user)
        except ConfigError as exc:  # a path outside the server's roots, a tag too long: next to its field
            message = re.sub(r"^runs\[\d+\]: ", "", exc.message)
            errors = {field_for_message(message): [message]}
        except Invalid as exc:  # e.g. a study with no plain method to compare with: next to the grid
            errors = {"grid.methods" if exc.message.startswith("methods") else "__all__": [exc.message]}
    return render(request, "launch.html", _context(values, errors), status_code=422)


def _submit(parsed: LaunchRequest, user: Principal) -> Response:
    """Submit what the form describes (a run, a sweep or a study) and redirect to where it shows."""
    if parsed.is_study:
        name = parsed.base.get("name") or f"{parsed.base['task']} study"
        study = studies.submit_study(
            name=name,
            base=parsed.study_base,
            methods=parsed.study_methods,
            seeds=parsed.seeds,
            tags=parsed.tags,
            actor=user,
        )
        return RedirectResponse(f"/experiments/{study.experiment_id}", status_code=303)
    if not parsed.is_sweep:
        created = runs.submit_run(parsed.configs[0], tags=parsed.tags, actor=user)
        return RedirectResponse(f"/runs/{created.id}", status_code=303)
    name = parsed.base.get("name") or f"{parsed.base['task']} sweep"
    sweep = runs.submit_sweep(name=name, base=parsed.base, grid=parsed.grid, tags=parsed.tags, actor=user)
    return RedirectResponse(f"/?experiment={sweep.experiment_id}", status_code=303)
