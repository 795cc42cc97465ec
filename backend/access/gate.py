"""Deny by default: every path needs a caller, except the short public list.

The caller is resolved once per request, before any route runs: `Authorization: Bearer <token>`
(scripts) wins over the session cookie (browsers). Without accounts (XLT_AUTH off) everyone is the
implicit local admin. The result lands in `request.state.principal` for `CurrentUser`.

Anonymous requests outside PUBLIC get 401 JSON `{"message": …}` with `WWW-Authenticate: Bearer`
(the API, JSON feeds, OpenAPI, or any request that sent a token) or a 303 redirect to
`/login?next=<path>` (pages, /docs). Being a middleware, this also covers routes added later,
/docs and /openapi.json, and paths no route matches.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.schemas import Principal
from backend.services import accounts

# What works without an account: logging in and out, health (status only), static assets, shared views.
PUBLIC_PATHS = frozenset({"/login", "/logout", "/healthz", "/assets/plotly.min.js"})
PUBLIC_PREFIXES = ("/static/", "/s/")
JSON_PREFIXES = ("/api/", "/openapi.json")


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def wants_json(path: str, headers: Headers) -> bool:
    return path.startswith(JSON_PREFIXES) or path.endswith(".json") or "authorization" in headers


def login_redirect(scope: Scope) -> RedirectResponse:
    """To /login, coming back to this page afterwards (GET only: a form post is not repeatable)."""
    if scope["method"] not in ("GET", "HEAD"):
        return RedirectResponse("/login", status_code=303)
    query = scope.get("query_string", b"").decode("latin-1")
    target = scope["path"] + (f"?{query}" if query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


MLFLOW_PREFIX = "/api/2.0/mlflow"  # MLflow's client reads `error_code` (backend.api.mlflow)


def unauthorized(message: str, path: str = "") -> JSONResponse:
    body = {"message": message, "detail": message}
    if path.startswith(MLFLOW_PREFIX):
        body["error_code"] = "UNAUTHENTICATED"
    return JSONResponse(body, status_code=401, headers={"WWW-Authenticate": "Bearer"})


async def resolve(scope: Scope, headers: Headers) -> tuple[Principal | None, str]:
    """(the caller or None, why not). Database lookups run in the thread pool (the store is blocking)."""
    authorization = headers.get("authorization")
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None, "Send an API token as 'Authorization: Bearer <token>'."
        principal = await run_in_threadpool(accounts.principal_for_token, token.strip())
        return principal, "This API token is not valid (unknown or revoked), or its user is disabled."
    session = scope.get("session")
    if session:
        principal = await run_in_threadpool(accounts.principal_for_session, dict(session))
        if principal is None:
            session.clear()  # an ended session: the cookie is deleted with this response
        return principal, "Your session has ended; log in again."
    return None, "Log in, or send an API token as 'Authorization: Bearer <token>'."


class AccessGate:
    def __init__(self, app: ASGIApp, enabled: bool) -> None:
        self.app = app
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        if not self.enabled:
            state["principal"] = accounts.LOCAL_ADMIN
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        principal, why = await resolve(scope, headers)
        state["principal"] = principal
        path = scope["path"]
        if principal is None and not is_public(path):
            json = scope["type"] == "websocket" or wants_json(path, headers)
            response: Response = unauthorized(why, path) if json else login_redirect(scope)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
