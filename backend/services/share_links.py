"""Read-only share links: create, list, revoke, and what a visitor of `/s/{token}` sees.

A link's `view` names what it shows: `{"run_id": 3}` (kind run), `{"runs": [1, 2], "baseline": …}`
(kind compare) or `{"experiment_id": 4, "baseline": …}` (kind experiment: its succeeded runs).

Members and admins create links; a link belongs to its creator, who alone (or an admin) revokes it.
The list shows your own links (admins: everyone's). Opening a link needs no account.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from backend import store
from backend.compare import build_compare
from backend.errors import Invalid, NotFound
from backend.schemas import CompareResult, Principal, ShareLinkOut
from backend.services.compare import compare_runs
from backend.services.permissions import require_owner, require_role
from backend.services.runs import RunDetails, run_details

GONE = "This share link does not exist, was revoked or has expired."


@dataclass(frozen=True)
class ShareLinkRow:
    """A link as the share-links page lists it, with the runs it shows (for the link to the owner's view)."""

    link: ShareLinkOut
    run_ids: list[int]


@dataclass(frozen=True)
class SharedView:
    """What a visitor sees: one run, or a comparison of `run_ids`."""

    link: ShareLinkOut
    run: RunDetails | None = None
    comparison: CompareResult | None = None
    run_ids: list[int] = field(default_factory=list)


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _check_view(kind: str, view: Mapping[str, Any]) -> None:
    if kind == "run":
        if not _is_id(view.get("run_id")) or not store.run_exists(view["run_id"]):
            raise Invalid("view.run_id: a share link of kind run names an existing run")
    elif kind == "compare":
        runs = view.get("runs")
        if not isinstance(runs, list) or not runs or not all(_is_id(r) for r in runs):
            raise Invalid("view.runs: a share link of kind compare names one or more run ids")
    elif kind == "experiment":
        if not _is_id(view.get("experiment_id")) or store.get_experiment(view["experiment_id"]) is None:
            raise Invalid("view.experiment_id: a share link of kind experiment names an existing experiment")
    else:
        raise Invalid(f"kind: '{kind}' is not run, compare or experiment")


def create_share_link(
    kind: str, view: Mapping[str, Any], expires_in_days: float | None = None, *, actor: Principal
) -> ShareLinkOut:
    """A new link (192 random bits); Invalid when the view does not name what its kind shows."""
    require_role(actor, "member", "creating a share link")
    _check_view(kind, view)
    expires = datetime.now(UTC) + timedelta(days=expires_in_days) if expires_in_days else None
    return store.create_share_link(kind, dict(view), expires, owner_id=actor.id)


def _visible_links(actor: Principal) -> list[ShareLinkOut]:
    """An admin sees every link; anyone else their own (the local admin without accounts: all)."""
    if actor.role == "admin":
        return store.list_share_links()
    return store.list_share_links(owner_id=actor.id) if actor.id is not None else []


def list_share_links(*, actor: Principal) -> list[ShareLinkOut]:
    return _visible_links(actor)


def _run_ids(link: ShareLinkOut) -> list[int]:
    if link.kind == "experiment":
        return store.run_ids_of_experiment(int(link.view.get("experiment_id", 0)))
    if link.kind == "compare":
        return [int(i) for i in link.view.get("runs", [])]
    return [int(link.view.get("run_id", 0))]


def share_link_rows(*, actor: Principal) -> list[ShareLinkRow]:
    return [ShareLinkRow(link=link, run_ids=_run_ids(link)) for link in _visible_links(actor)]


def revoke_share_link(token: str, *, actor: Principal) -> None:
    exists, owner_id = store.get_share_link_owner(token)
    if not exists:
        raise NotFound("share link not found")
    require_owner(actor, owner_id, "revoking a share link")
    store.revoke_share_link(token)


def open_share_link(token: str, *, with_history: bool = True) -> SharedView:
    """The run or comparison behind a working link; NotFound when the link (or its run) is gone."""
    link = store.get_share_link(token)
    if link is None:
        raise NotFound(GONE)
    if link.kind == "run":
        try:
            details = run_details(_run_ids(link)[0], with_history=with_history)
        except NotFound:
            raise NotFound("The shared run no longer exists.") from None
        return SharedView(link=link, run=details)
    run_ids = _run_ids(link)
    if not run_ids:  # an experiment none of whose runs has succeeded yet
        return SharedView(link=link, comparison=build_compare([], [], "accuracy", None))
    comparison = compare_runs(run_ids, baseline=link.view.get("baseline"))
    return SharedView(link=link, comparison=comparison, run_ids=run_ids)
