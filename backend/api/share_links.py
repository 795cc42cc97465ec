"""/api/share-links: read-only links to a run, a comparison or an experiment (opened at /s/{token})."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict, Field

from backend.access import CurrentUser
from backend.params import ShareToken
from backend.schemas import CompareView, ExperimentViewIn, RunView, ShareLinkOut
from backend.services import share_links

router = APIRouter(tags=["share links"])


class _ShareLinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    expires_in_days: float | None = Field(
        default=None, gt=0, description="default and most: XLT_SHARE_LINK_MAX_DAYS (90)"
    )


class RunShareIn(_ShareLinkIn):
    kind: Literal["run"]
    view: RunView


class CompareShareIn(_ShareLinkIn):
    kind: Literal["compare"]
    view: CompareView


class ExperimentShareIn(_ShareLinkIn):
    kind: Literal["experiment"]
    view: ExperimentViewIn = Field(description="frozen to the experiment's succeeded runs when made")


ShareLinkIn = Annotated[RunShareIn | CompareShareIn | ExperimentShareIn, Field(discriminator="kind")]


@router.post("/share-links", status_code=201, response_model=ShareLinkOut)
def create_share_link(body: Annotated[ShareLinkIn, Body()], user: CurrentUser) -> ShareLinkOut:
    view = body.view.model_dump(exclude_none=True)
    return share_links.create_share_link(body.kind, view, body.expires_in_days, actor=user)


@router.get("/share-links", response_model=list[ShareLinkOut], summary="Your links (admins: all)")
def list_share_links(user: CurrentUser) -> list[ShareLinkOut]:
    return share_links.list_share_links(actor=user)


@router.delete("/share-links/{token}", status_code=204)
def revoke_share_link(token: ShareToken, user: CurrentUser) -> None:
    share_links.revoke_share_link(token, actor=user)
