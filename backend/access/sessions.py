"""Browser sessions: Starlette's SessionMiddleware (a cookie signed with itsdangerous, HttpOnly,
SameSite=Lax), and the secret key that signs it.

The cookie gets the Secure flag per request when XLT_COOKIE_SECURE is `auto` and the request came
over HTTPS (directly, or through a proxy whose X-Forwarded-Proto uvicorn trusts); `on` always sets
it (then plain-HTTP logins fail, except on localhost), `off` never.

The key is XLT_SECRET_KEY, or one generated once into XLT_HOME/secret_key (0600), so restarts and
every API process sharing XLT_HOME keep sessions valid. A short or well-known key is refused when
sessions are in use (accounts on: a server on 127.0.0.1 behind a proxy counts) or the server binds
beyond loopback.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from typing import Literal

from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.services.accounts import write_private
from backend.settings import Settings

log = logging.getLogger(__name__)

COOKIE = "xlt_session"
MAX_AGE = 7 * 24 * 3600  # a week without a visit ends a session (each response renews it)
MIN_SECRET_LENGTH = 32
WEAK_SECRETS = {
    *("secret", "changeme", "change-me", "changethis", "dev", "development", "test", "xlt", "password"),
}


class WeakSecret(RuntimeError):
    """XLT_SECRET_KEY is too short or a well-known placeholder on a server others can reach."""


def session_secret(settings: Settings) -> str:
    key = settings.secret_key.get_secret_value().strip()
    if key:
        weak = len(key) < MIN_SECRET_LENGTH or key.lower() in WEAK_SECRETS
        if weak and (settings.auth_enabled or not settings.loopback_only):
            raise WeakSecret(
                f"XLT_SECRET_KEY is weak (a placeholder or under {MIN_SECRET_LENGTH} characters); "
                "unset it to generate one, or make one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
            )
        return key
    path = settings.home / "secret_key"
    settings.ensure_home()
    try:
        write_private(path, secrets.token_urlsafe(48))
        log.info("generated the session secret key in %s", path)
    except FileExistsError:  # made by an earlier start (or another process just now)
        if stat.S_IMODE(os.stat(path).st_mode) & 0o077:
            os.chmod(path, 0o600)
    return path.read_text().strip()


class SessionCookies:
    """SessionMiddleware with the Secure flag chosen per request (see the module docstring)."""

    def __init__(self, app: ASGIApp, secret_key: str, secure: Literal["auto", "on", "off"] = "auto") -> None:
        options = {"session_cookie": COOKIE, "max_age": MAX_AGE, "same_site": "lax"}
        self.plain = SessionMiddleware(app, secret_key, https_only=False, **options)  # type: ignore[arg-type]
        self.secure = SessionMiddleware(app, secret_key, https_only=True, **options)  # type: ignore[arg-type]
        self.mode = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        https = scope.get("scheme") in ("https", "wss")
        use_secure = self.mode == "on" or (self.mode == "auto" and https)
        await (self.secure if use_secure else self.plain)(scope, receive, send)
