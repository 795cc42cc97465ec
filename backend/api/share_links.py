"""/api/share-links: read-only links to a run or a comparison (opened at /s/{token})."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from backend.access import CurrentUser
from backend.schemas import ShareLinkOut
from backend.services import share_links

router = APIRouter(tags=["share links"])


class ShareLinkIn(BaseModel):
    kind: Literal["run", "compare", "experiment"]
    view: dict[str, Any]
    expires_in_days: float | None = Field(default=None, gt=0)


@router.post("/share-links", status_code=201, response_model=ShareLinkOut)
def create_share_link(body: ShareLinkIn, user: CurrentUser) -> ShareLinkOut:
    return share_links.create_share_link(body.kind, body.view, body.expires_in_days, actor=user)


@router.get("/share-links", response_model=list[ShareLinkOut], summary="Your links (admins: all)")
def list_share_links(user: CurrentUser) -> list[ShareLinkOut]:
    return share_links.list_share_links(actor=user)


@router.delete("/share-links/{token}", status_code=204)
def revoke_share_link(token: str, user: CurrentUser) -> None:
    share_links.revoke_share_link(token, actor=user)
