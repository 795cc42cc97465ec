"""Request limits, in every mode: a body larger than XLT_MAX_BODY_BYTES is a 413, and a NUL character
in the path or query string is a 400, before any route (or the database) sees the request.

The body limit checks Content-Length up front and counts what is actually received (chunked uploads
have no length): past the limit, reading raises a 413 HTTPException, which FastAPI passes on
unchanged while parsing a body and the app's handlers answer as JSON (API) or an error page (forms).
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def too_large_message(limit: int) -> str:
    return f"Request body too large: at most {limit:,} bytes (XLT_MAX_BODY_BYTES)"


def _refuse(status_code: int, message: str) -> JSONResponse:
    return JSONResponse({"message": message, "detail": message}, status_code=status_code)


NUL_MESSAGE = "NUL characters are not accepted in a path or query string"


def has_nul(scope: Scope) -> bool:
    """In the decoded path, or in the query string once its %-escapes are undone."""
    return "\x00" in scope["path"] or b"\x00" in unquote_to_bytes(scope.get("query_string", b""))


class RequestLimits:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if has_nul(scope):
            await _refuse(400, NUL_MESSAGE)(scope, receive, send)
            return
        limit = self.max_body_bytes
        length = Headers(scope=scope).get("content-length", "")
        if length.isascii() and length.strip().isdigit() and int(length) > limit:
            await _refuse(413, too_large_message(limit))(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, too_large_message(limit))
            return message

        await self.app(scope, limited_receive, send)
