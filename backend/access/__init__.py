"""Access to the app: who is asking, and the browser-side defences every response gets.

    limits.py      request body size (XLT_MAX_BODY_BYTES, 413) and no NUL in paths or query strings
    browser.py     Host header allow-list (DNS rebinding), same-origin check of unsafe methods (CSRF),
                   security headers (CSP, nosniff, frame and referrer policies); in every mode
    sessions.py    the signed session cookie of browsers and the secret key that signs it
    gate.py        deny by default: resolves the caller (Bearer token or session cookie) and answers
                   401 / a redirect to /login for every path but the short public list
    principal.py   `CurrentUser`, the dependency routes declare to receive the caller

`install_access(app)` adds them in order. The checks of what a caller may do live in the services
(backend.services.permissions); this package only establishes who the caller is.
"""

from __future__ import annotations

from fastapi import FastAPI

from backend.access.browser import BrowserGuards
from backend.access.gate import AccessGate
from backend.access.limits import RequestLimits
from backend.access.principal import CurrentUser, OptionalUser
from backend.access.sessions import SessionCookies, session_secret
from backend.settings import get_settings

__all__ = ["CurrentUser", "OptionalUser", "install_access"]


def install_access(app: FastAPI) -> None:
    """Outermost first: browser guards → request limits → session cookie → gate → the routes."""
    settings = get_settings()
    app.add_middleware(AccessGate, enabled=settings.auth_enabled)  # innermost of the three
    if settings.auth_enabled:
        app.add_middleware(SessionCookies, secret_key=session_secret(settings), secure=settings.cookie_secure)
    app.add_middleware(RequestLimits, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(BrowserGuards, allowed_hosts=settings.allowed_host_names)
