"""The Jinja2 environment of the dashboard: templates from frontend/templates, autoescaped, plus the
few helpers templates need (language names and tiers, percentages, times)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from backend.figures.style import TIER_LABELS, language_label, language_name
from backend.schemas import excludes_zero
from backend.services.permissions import may_change, may_launch
from backend.studies.render import fmt_ci, fmt_delta, fmt_mean, fmt_p
from worker.training.languages import tier
from worker.training.results import ACTIVE_STATUSES, STUCK_AT_CHANCE

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "frontend" / "templates"

templates = Jinja2Templates(directory=str(TEMPLATE_DIR))


def _when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M")


def _duration(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return ""
    seconds = int((end - start).total_seconds())
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


def query_url(request: Request, **changes: Any) -> str:
    """The current page's URL with some query parameters changed (None or '' removes one)."""
    params = {k: v for k, v in request.query_params.items()}
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = str(value)
    return str(request.url.path) + ("?" + urlencode(params) if params else "")


def _short_model(model: str, width: int = 42) -> str:
    """Long hub ids and paths keep their informative end: '…/checkpoints/xlmr-large'."""
    return model if len(model) <= width else "…" + model[-(width - 1) :]


templates.env.globals.update(
    query_url=query_url,
    duration=_duration,
    language_label=language_label,
    language_name=language_name,
    tier=tier,
    tier_labels=TIER_LABELS,
    active_statuses=ACTIVE_STATUSES,
    stuck_at_chance=STUCK_AT_CHANCE,
    may_launch=may_launch,  # templates hide what the user cannot do; the services refuse it anyway
    may_change=may_change,
    excludes_zero=excludes_zero,  # a delta is coloured as a change only when its interval excludes 0
)
templates.env.filters.update(
    when=_when,
    short_model=_short_model,
    points=fmt_delta,  # signed percentage points, "-" for None
    ci=lambda e: fmt_ci(e.ci_low, e.ci_high),  # "[+0.7, +3.1]" of anything with ci_low/ci_high
    pvalue=fmt_p,
    accuracy=fmt_mean,
)


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    """`user` (the caller, None on a public page without login) is in every template's context."""
    context = {"user": getattr(request.state, "principal", None), **context}
    return templates.TemplateResponse(request, name, context, status_code=status_code)
