"""/api/share-links: read-only links to a run or a comparison (opened at /s/{token})."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from backend import store
from backend.api.errors import not_found
from backend.schemas import ShareLinkOut

router = APIRouter(tags=["share links"])


class ShareLinkIn(BaseModel):
    kind: Literal["run", "compare", "experiment"]
    view: dict[str, Any]
    expires_in_days: float | None = Field(default=None, gt=0)


@router.post("/share-links", status_code=201, response_model=ShareLinkOut)
def create_share_link(body: ShareLinkIn) -> ShareLinkOut:
    expires = datetime.now(UTC) + timedelta(days=body.expires_in_days) if body.expires_in_days else None
    return store.create_share_link(body.kind, body.view, expires)


@router.get("/share-links", response_model=list[ShareLinkOut])
def list_share_links() -> list[ShareLinkOut]:
    return store.list_share_links()


@router.delete("/share-links/{token}", status_code=204)
def revoke_share_link(token: str) -> None:
    if not store.revoke_share_link(token):
        raise not_found("share link")
