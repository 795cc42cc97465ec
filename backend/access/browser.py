"""Browser-side defences, on in every mode (also without accounts on 127.0.0.1):

- Host allow-list: a Host header outside XLT_ALLOWED_HOSTS is a 400, so a page on another site
  cannot reach this server through DNS rebinding (its name resolving to 127.0.0.1).
- Same origin for unsafe methods: a POST/PUT/PATCH/DELETE whose Origin (or, without one, Referer)
  names another host is a 403, so a page on another site cannot launch, cancel or revoke through the
  visitor's browser (CSRF). Requests with neither header (curl, scripts) pass; browsers always send
  Origin on cross-origin posts. The check compares host and port with the Host header, not the
  scheme, so it also holds behind a TLS proxy that does not forward the scheme.
- Security headers on every response: a Content-Security-Policy that allows scripts from this
  server only, nosniff, no framing, and a referrer policy (none at all from shared pages, so a
  link's token never leaks to another site).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
DEFAULT_PORTS = {"http": "80", "https": "443"}

# plotly.js styles its charts with inline style attributes ('unsafe-inline' for styles only) and
# exports PNG/SVG through data: and blob: URLs. No inline script anywhere: figures travel as
# <script type="application/json"> data blocks, which CSP does not execute.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; object-src 'none'; base-uri 'self'; form-action 'self'"
)
# FastAPI's Swagger UI and ReDoc pages load their bundle from a CDN and start it with an inline script.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' data: https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com; "
    "worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'self'"
)
DOCS_PATHS = ("/docs", "/redoc")


def _split_host(value: str) -> tuple[str, str]:
    """'Example.org:8000' → ('example.org', '8000'); '[::1]:80' → ('[::1]', '80')."""
    value = value.strip().lower()
    if value.startswith("["):
        host, _, rest = value.partition("]")
        return host + "]", rest.removeprefix(":")
    host, _, port = value.partition(":")
    return host, port


def host_allowed(host_header: str, allowed: list[str]) -> bool:
    host, _ = _split_host(host_header)
    if not host:
        return False
    for pattern in allowed:
        if pattern == "*" or host == pattern:
            return True
        if pattern.startswith("*.") and host.endswith(pattern[1:]):
            return True
    return False


def _normal_netloc(host: str, port: str, scheme: str | None = None) -> str:
    if not port or port in ((DEFAULT_PORTS[scheme],) if scheme in DEFAULT_PORTS else ("80", "443")):
        return host
    return f"{host}:{port}"


def is_foreign(headers: Headers) -> bool:
    """Does the Origin (else the Referer) of this request name another host than its Host header?"""
    own = _normal_netloc(*_split_host(headers.get("host", "")))
    source = headers.get("origin") or headers.get("referer")
    if source is None:
        return False
    if source.strip() == "null":  # sandboxed frames, privacy-sensitive redirects: not us
        return True
    parts = urlsplit(source.strip())
    if parts.scheme not in DEFAULT_PORTS or not parts.netloc:
        return True
    return _normal_netloc(*_split_host(parts.netloc.rpartition("@")[2]), parts.scheme) != own


def security_headers(path: str) -> dict[str, str]:
    docs = path in DOCS_PATHS or path.startswith("/docs/")
    return {
        "Content-Security-Policy": DOCS_CSP if docs else CSP,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer" if path.startswith("/s/") else "same-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
    }


def _refuse(status_code: int, message: str) -> JSONResponse:
    return JSONResponse({"message": message, "detail": message}, status_code=status_code)


class BrowserGuards:
    def __init__(self, app: ASGIApp, allowed_hosts: list[str]) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = security_headers(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        headers = Headers(scope=scope)
        host = headers.get("host", "")
        if not host_allowed(host, self.allowed_hosts):
            message = f"Host '{host[:100]}' is not served here; add it to XLT_ALLOWED_HOSTS"
            await _refuse(400, message)(scope, receive, send_with_headers)
        elif scope["method"] not in SAFE_METHODS and is_foreign(headers):
            message = "Cross-site request refused: the Origin (or Referer) is another site"
            await _refuse(403, message)(scope, receive, send_with_headers)
        else:
            await self.app(scope, receive, send_with_headers)
