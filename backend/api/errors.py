"""Errors as JSON with a message: {"message": "...", "detail": ...}, for every status code.

backend.app chooses these for /api/… and /healthz (and *.json feeds); pages get an HTML error page.
"""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from backend.errors import DomainError


def validation_message(exc: RequestValidationError) -> str:
    """'train.batch_size: Input should be …; page: …': each problem named by its field."""
    parts = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "form")]
        parts.append(f"{'.'.join(loc) or 'request'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


def json_error(status_code: int, message: str, detail: Any = None, headers: Any = None) -> JSONResponse:
    body = {"message": message, "detail": message if detail is None else detail}
    return JSONResponse(body, status_code=status_code, headers=headers)


def domain_error_json(exc: DomainError) -> JSONResponse:
    return json_error(exc.status_code, exc.message, exc.detail)


def http_error_json(exc: HTTPException) -> JSONResponse:
    message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    return json_error(exc.status_code, message, exc.detail, getattr(exc, "headers", None))


def validation_error_json(exc: RequestValidationError) -> JSONResponse:
    errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors()]
    return json_error(422, validation_message(exc), errors)
