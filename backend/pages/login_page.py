"""`/login` (the form, and its post) and `/logout`: browser sessions.

A successful login replaces the session with the user's id and password fingerprint and goes to
`next` (a local path only, so the form cannot be used to bounce a visitor to another site). Without
accounts (XLT_AUTH off) there is nothing to log into and both go to the runs.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from backend.errors import Unauthorized
from backend.pages.templating import render
from backend.services import accounts
from backend.settings import get_settings

router = APIRouter()


def safe_next(target: str | None) -> str:
    """`target` when it is a path on this server ('/runs/3?x=1'), else '/'."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(c in target for c in "\r\n\t\\"):
        return "/"
    return target


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request, next: str = "/") -> Response:
    if not get_settings().auth_enabled:
        return RedirectResponse("/", status_code=303)
    return render(request, "login.html", {"next": safe_next(next), "name": "", "error": None})


@router.post("/login", include_in_schema=False)
async def login_submit(
    request: Request,
    name: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=4096)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    if not get_settings().auth_enabled:
        return RedirectResponse("/", status_code=303)
    try:
        login = await run_in_threadpool(accounts.authenticate, name.strip(), password)  # argon2: ~0.5 s
    except Unauthorized as exc:
        context = {"next": safe_next(next), "name": name, "error": exc.message}
        return render(request, "login.html", context, status_code=401)
    request.session.clear()
    request.session.update(login.session)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout", include_in_schema=False)
def logout(request: Request) -> RedirectResponse:
    if "session" in request.scope:
        request.session.clear()  # the cookie is deleted with this response
    return RedirectResponse("/login" if get_settings().auth_enabled else "/", status_code=303)
