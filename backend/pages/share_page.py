"""Share links: create (from the Share button), list and revoke (`/shares`), and the read-only view a
visitor opens (`/s/{token}`): the same charts and tables, none of the launch/cancel/retry/share controls."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backend.access import CurrentUser
from backend.errors import Invalid, NotFound
from backend.pages.downloads import compare_export, run_export
from backend.pages.errors import error_page
from backend.pages.templating import render
from backend.pages.views import compare_view, run_view
from backend.params import ShareToken
from backend.run_ids import parse_run_ids
from backend.schemas import MAX_DB_INT
from backend.services import share_links

router = APIRouter()


def _days(text: str) -> float | None:
    """'' → the longest a link may last (XLT_SHARE_LINK_MAX_DAYS); otherwise a positive number of days."""
    if not text.strip():
        return None
    try:
        days = float(text)
    except ValueError:
        days = 0.0
    if not 0 < days < float("inf"):
        raise Invalid(f"expires_in_days: '{text}' is not a positive number of days")
    return days


@router.post("/shares", include_in_schema=False)
def create_share(
    user: CurrentUser,
    kind: Annotated[str, Form(max_length=32)],
    run_id: Annotated[int | None, Form(ge=1, le=MAX_DB_INT)] = None,
    runs: Annotated[str, Form(max_length=20_000)] = "",
    baseline: Annotated[str, Form(max_length=1000)] = "",
    expires_in_days: Annotated[str, Form(max_length=32)] = "",
) -> RedirectResponse:
    if kind == "run":
        view: dict[str, Any] = {"run_id": run_id}
    else:
        view = {"runs": parse_run_ids([runs]), "baseline": baseline or None}
    link = share_links.create_share_link(kind, view, _days(expires_in_days), actor=user)
    return RedirectResponse(f"/shares?created={link.token}", status_code=303)


def _target(row: share_links.ShareLinkRow) -> str:
    """Where the owner's own (editable) view of a link is."""
    link = row.link
    if not row.run_ids:
        return "/"
    if link.kind == "run":
        return f"/runs/{row.run_ids[0]}"
    baseline = getattr(link.view, "baseline", None)
    query = {"runs": ",".join(map(str, row.run_ids))} | ({"baseline": baseline} if baseline else {})
    return "/compare?" + urlencode(query)


@router.get("/shares", response_class=HTMLResponse, include_in_schema=False)
def shares_page(
    request: Request, user: CurrentUser, created: Annotated[str, Query(max_length=64)] = ""
) -> HTMLResponse:
    now = datetime.now(UTC)
    rows = [
        {
            "link": row.link,
            "url": str(request.base_url).rstrip("/") + f"/s/{row.link.token}",
            "state": "revoked"
            if row.link.revoked
            else "expired"
            if row.link.expires_at and row.link.expires_at <= now
            else "active",
            "target": _target(row),
        }
        for row in share_links.share_link_rows(actor=user)
    ]
    return render(request, "shares.html", {"nav": "shares", "rows": rows, "created": created})


@router.post("/shares/{token}/revoke", include_in_schema=False)
def revoke_share(token: ShareToken, user: CurrentUser) -> RedirectResponse:
    share_links.revoke_share_link(token, actor=user)
    return RedirectResponse("/shares", status_code=303)


@router.get("/s/{token}", response_class=HTMLResponse, include_in_schema=False)
def shared_view(request: Request, token: ShareToken) -> HTMLResponse:
    try:
        shared = share_links.open_share_link(token)
    except NotFound as exc:
        message = f"{exc.message} Ask its owner for a new one."
        return error_page(request, 404, "This share link does not work", message)
    base = {"shared": True, "export_base": f"/s/{token}/export", "export_query": ""}
    if shared.run is not None:
        return render(request, "run.html", run_view(shared.run) | base)
    assert shared.comparison is not None
    context = compare_view(shared.comparison) | base | {"run_ids": shared.run_ids}
    return render(request, "compare.html", context)


@router.get("/s/{token}/export.{fmt}", include_in_schema=False)
def shared_export(token: ShareToken, fmt: str) -> Response:
    shared = share_links.open_share_link(token, with_history=False)
    if shared.run is not None:
        return run_export(shared.run.run, shared.run.scores, fmt)
    assert shared.comparison is not None
    return compare_export(shared.comparison, fmt)
