"""`CurrentUser`: the caller as a route parameter (`user: CurrentUser`), as in
fastapi/full-stack-fastapi-template's `api/deps.py`.

The gate (gate.py) has already resolved the caller and refused anonymous requests outside the public
list; this dependency hands the result to the route. It also declares the Bearer scheme, so /docs
offers "Authorize" and the OpenAPI schema says how to authenticate.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from backend.errors import Unauthorized
from backend.schemas import Principal

bearer = HTTPBearer(auto_error=False, description="an API token from `xlt tokens create USER`")


def optional_principal(
    request: Request, _token: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Principal | None:
    """The caller, or None on a public path without credentials."""
    return getattr(request.state, "principal", None)


def current_principal(principal: Annotated[Principal | None, Depends(optional_principal)]) -> Principal:
    if principal is None:
        raise Unauthorized("Log in, or send an API token as 'Authorization: Bearer <token>'.")
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]
OptionalUser = Annotated[Principal | None, Depends(optional_principal)]
