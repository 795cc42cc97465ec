"""Share links: create (from the Share button), list and revoke (`/shares`), and the read-only view a
visitor opens (`/s/{token}`): the same charts and tables, none of the launch/cancel/retry/share controls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backend import store
from backend.pages.compare_page import compare_export
from backend.pages.run_page import run_export
from backend.pages.templating import render
from backend.pages.views import compare_result, compare_view, parse_run_ids, run_view
from backend.schemas import ShareLinkOut

router = APIRouter()


def _view_ids(link: ShareLinkOut) -> list[int]:
    if link.kind == "experiment":
        return store.run_ids_of_experiment(int(link.view.get("experiment_id", 0)))
    return [int(i) for i in link.view.get("runs", [])]


@router.post("/shares", include_in_schema=False)
def create_share(
    kind: str = Form(...),
    run_id: int | None = Form(None),
    runs: str = Form(""),
    baseline: str = Form(""),
    expires_in_days: str = Form(""),
) -> RedirectResponse:
    if kind == "run" and run_id is not None and store.get_run(run_id) is not None:
        view: dict[str, Any] = {"run_id": run_id}
    elif kind == "compare" and parse_run_ids([runs]):
        view = {"runs": parse_run_ids([runs]), "baseline": baseline or None}
    else:
        raise HTTPException(
            status_code=422, detail="share: give kind=run with run_id, or kind=compare with runs"
        )
    days = float(expires_in_days) if expires_in_days.replace(".", "", 1).isdigit() else None
    expires = datetime.now(UTC) + timedelta(days=days) if days else None
    link = store.create_share_link(kind, view, expires)
    return RedirectResponse(f"/shares?created={link.token}", status_code=303)


@router.get("/shares", response_class=HTMLResponse, include_in_schema=False)
def shares_page(request: Request, created: str = "") -> HTMLResponse:
    links = store.list_share_links()
    now = datetime.now(UTC)
    rows = [
        {
            "link": link,
            "url": str(request.base_url).rstrip("/") + f"/s/{link.token}",
            "state": "revoked"
            if link.revoked
            else "expired"
            if link.expires_at and link.expires_at <= now
            else "active",
            "target": f"/runs/{link.view.get('run_id')}"
            if link.kind == "run"
            else "/compare?runs="
            + ",".join(map(str, _view_ids(link)))
            + (f"&baseline={link.view['baseline']}" if link.view.get("baseline") else ""),
        }
        for link in links
    ]
    return render(request, "shares.html", {"nav": "shares", "rows": rows, "created": created})


@router.post("/shares/{token}/revoke", include_in_schema=False)
def revoke_share(token: str) -> RedirectResponse:
    store.revoke_share_link(token)
    return RedirectResponse("/shares", status_code=303)


def _link_or_404(token: str) -> ShareLinkOut:
    link = store.get_share_link(token)
    if link is None:
        raise HTTPException(
            status_code=404, detail="This share link does not exist, was revoked or has expired."
        )
    return link


def _gone(request: Request, message: str) -> HTMLResponse:
    context = {"shared": True, "heading": "This share link does not work", "message": message}
    return render(request, "not_found.html", context, status_code=404)


@router.get("/s/{token}", response_class=HTMLResponse, include_in_schema=False)
def shared_view(request: Request, token: str) -> HTMLResponse:
    link = store.get_share_link(token)
    if link is None:
        return _gone(
            request, "The link does not exist, was revoked or has expired. Ask its owner for a new one."
        )
    base = {"shared": True, "export_base": f"/s/{token}/export", "export_query": ""}
    if link.kind == "run":
        run = store.get_run(int(link.view.get("run_id", 0)))
        if run is None:
            return _gone(request, "The shared run no longer exists.")
        return render(request, "run.html", run_view(run) | base)
    run_ids = _view_ids(link)
    result = compare_result(run_ids, link.view.get("baseline"))
    return render(request, "compare.html", compare_view(result) | base | {"run_ids": run_ids})


@router.get("/s/{token}/export.{fmt}", include_in_schema=False)
def shared_export(token: str, fmt: str) -> Response:
    link = _link_or_404(token)
    if link.kind == "run":
        run = store.get_run(int(link.view.get("run_id", 0)))
        if run is None:
            raise HTTPException(status_code=404, detail="The shared run no longer exists.")
        return run_export(run, fmt)
    return compare_export(compare_result(_view_ids(link), link.view.get("baseline")), fmt)
