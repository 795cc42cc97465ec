"""Read-only share links: 192-bit random tokens, optional expiry, revocable."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, update

from backend.db import session
from backend.models import ShareLink, User, utcnow
from backend.schemas import ShareLinkOut, ShareView, parse_share_view
from backend.store.common import (
    aware,
)

# ── share links ──────────────────────────────────────────────────────────────────────────────────


def _view(kind: str, view: Any) -> ShareView | None:
    """The stored view, typed; None for one that is no view of its kind (stored before views were
    checked): such a link is listed, and opens as gone."""
    try:
        return parse_share_view(kind, view)
    except (ValidationError, KeyError):
        return None


def _share_out(link: ShareLink, owner: str | None = None) -> ShareLinkOut:
    return ShareLinkOut(
        token=link.token,
        kind=link.kind,
        view=_view(link.kind, link.view),
        created_at=aware(link.created_at),  # type: ignore[arg-type]
        expires_at=aware(link.expires_at),
        revoked=link.revoked,
        owner_id=link.owner_id,
        owner=owner,
    )


def create_share_link(
    kind: str, view: dict[str, Any], expires_at: datetime | None = None, owner_id: int | None = None
) -> ShareLinkOut:
    """A read-only link; the token carries 192 random bits (secrets.token_urlsafe(24))."""
    with session() as s:
        link = ShareLink(
            owner_id=owner_id,
            token=secrets.token_urlsafe(24),
            kind=kind,
            view=view,
            created_at=utcnow(),
            expires_at=expires_at,
            revoked=False,
        )
        s.add(link)
        s.flush()
        return _share_out(link)


def list_share_links(owner_id: int | None = None) -> list[ShareLinkOut]:
    """Newest first; only `owner_id`'s links when given."""
    query = (
        select(ShareLink, User.name)
        .outerjoin(User, User.id == ShareLink.owner_id)
        .order_by(ShareLink.created_at.desc())
    )
    if owner_id is not None:
        query = query.where(ShareLink.owner_id == owner_id)
    with session() as s:
        return [_share_out(link, owner) for link, owner in s.execute(query)]


def revoke_share_link(token: str) -> bool:
    with session() as s:
        return s.execute(update(ShareLink).where(ShareLink.token == token).values(revoked=True)).rowcount == 1  # type: ignore[attr-defined]


def get_share_link_owner(token: str) -> tuple[bool, int | None]:
    """(exists, owner id) of a link whatever its state, for the revoke permission check."""
    with session() as s:
        link = s.get(ShareLink, token)
        return (False, None) if link is None else (True, link.owner_id)


def get_share_link(token: str) -> ShareLinkOut | None:
    """The link if it exists, is not revoked and has not expired; otherwise None."""
    with session() as s:
        link = s.get(ShareLink, token)
        if link is None or link.revoked:
            return None
        expires = aware(link.expires_at)
        if expires is not None and expires <= datetime.now(UTC):
            return None
        return _share_out(link)
