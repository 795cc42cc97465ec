"""JSON straight from pydantic-core for the hot endpoints (run list, history, compare).

FastAPI would dump a returned model to a dict, validate it against `response_model` and serialise
it again; for 1,000 runs that is most of the request. The routes keep `response_model` for OpenAPI.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import Response
from pydantic import BaseModel


def pydantic_json(value: BaseModel | Sequence[BaseModel], status_code: int = 200) -> Response:
    if isinstance(value, BaseModel):
        body = value.__pydantic_serializer__.to_json(value)
    else:
        body = b"[" + b",".join(v.__pydantic_serializer__.to_json(v) for v in value) + b"]"
    return Response(body, status_code=status_code, media_type="application/json")
