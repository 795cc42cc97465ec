"""/api/me: who the credentials belong to (for scripts checking their token, and `xlt` clients)."""

from __future__ import annotations

from fastapi import APIRouter

from backend.access import CurrentUser
from backend.schemas import Principal

router = APIRouter(tags=["accounts"])


@router.get("/me", response_model=Principal, summary="The caller: name, role, and how they signed in")
def me(user: CurrentUser) -> Principal:
    return user
