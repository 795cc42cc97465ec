"""Read-only share links: create, list, revoke, and what a visitor of `/s/{token}` sees.

A link's `view` (typed: backend.schemas RunView, CompareView, ExperimentView) names what it shows:
`{"run_id": 3}` (kind run), `{"runs": [1, 2], "baseline": …}` (kind compare) or `{"experiment_id": 4,
"baseline": …}` (kind experiment), which is frozen when the link is made to the experiment's runs that
had succeeded then: a run that finishes later is not shown to whoever holds the link.

Every link expires, after at most XLT_SHARE_LINK_MAX_DAYS. What a visitor sees passes through
backend.redaction: results and settings, never a traceback, a path, the worker host or environment.

Members and admins create links; a link belongs to its creator, who alone (or an admin) revokes it.
The list shows your own links (admins: everyone's). Opening a link needs no account.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from backend import store
from backend.compare import build_compare
from backend.errors import Invalid, NotFound
from backend.redaction import public_comparison, public_run
from backend.schemas import (
    CompareResult,
    CompareView,
    ExperimentView,
    Principal,
    RunView,
    ShareLinkOut,
    parse_share_view,
)
from backend.services.compare import compare_runs
from backend.services.permissions import require_owner, require_role
from backend.services.runs import RunDetails, run_details
from backend.settings import get_settings
from worker.training.config import format_validation_error

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


def _checked_view(kind: str, view: Mapping[str, Any]) -> RunView | CompareView | ExperimentView:
    """The typed view of a new link, naming what it shows; Invalid naming the field otherwise.
    An experiment link is frozen here to the experiment's runs that have succeeded."""
    if kind not in ("run", "compare", "experiment"):
        raise Invalid(f"kind: '{str(kind)[:40]}' is not run, compare or experiment")
    if kind == "experiment" and isinstance(view, Mapping) and "runs" in view:
        raise Invalid("view.runs: an experiment link shows the runs the experiment has when it is made")
    try:
        typed = parse_share_view(kind, view)
    except ValidationError as exc:
        raise Invalid(f"view.{format_validation_error(exc)}") from None
    if isinstance(typed, RunView) and not store.run_exists(typed.run_id):
        raise Invalid("view.run_id: a share link of kind run names an existing run")
    if isinstance(typed, ExperimentView):
        if store.get_experiment(typed.experiment_id) is None:
            raise Invalid("view.experiment_id: a share link of kind experiment names an existing experiment")
        typed = typed.model_copy(update={"runs": store.run_ids_of_experiment(typed.experiment_id)})
    if (
        isinstance(typed, CompareView | ExperimentView)
        and typed.baseline
        and not typed.baseline.startswith("run:")
    ):
        typed = typed.model_copy(update={"baseline": _baseline_run(typed)})
    return typed


def _baseline_run(view: CompareView | ExperimentView) -> str | None:
    """A baseline named by its group key, as 'run:<id>' of a run of that group: keys carry model
    paths, which a visitor's (redacted) comparison does not."""
    if not view.runs:
        return None
    try:
        result = compare_runs(view.runs, baseline=view.baseline)
    except NotFound:
        raise Invalid("view.runs: a share link names existing runs") from None
    group = next((g for g in result.groups if g.key == result.baseline), None)
    return f"run:{group.run_ids[0]}" if group else None


def _expiry(expires_in_days: float | None) -> datetime:
    """Every link expires: after `expires_in_days`, at most (and by default) XLT_SHARE_LINK_MAX_DAYS."""
    cap = get_settings().share_link_max_days
    if expires_in_days is None:
        expires_in_days = cap
    if not 0 < expires_in_days <= cap:
        raise Invalid(
            f"expires_in_days: a link lasts more than 0 and at most {cap:g} days (XLT_SHARE_LINK_MAX_DAYS)"
        )
    return datetime.now(UTC) + timedelta(days=expires_in_days)


def create_share_link(
    kind: str, view: Mapping[str, Any], expires_in_days: float | None = None, *, actor: Principal
) -> ShareLinkOut:
    """A new link (192 random bits); Invalid when the view does not name what its kind shows."""
    require_role(actor, "member", "creating a share link")
    typed = _checked_view(kind, view)
    expires = _expiry(expires_in_days)
    return store.create_share_link(kind, typed.model_dump(mode="json"), expires, owner_id=actor.id)


def _visible_links(actor: Principal) -> list[ShareLinkOut]:
    """An admin sees every link; anyone else their own (the local admin without accounts: all)."""
    if actor.role == "admin":
        return store.list_share_links()
    return store.list_share_links(owner_id=actor.id) if actor.id is not None else []


def list_share_links(*, actor: Principal) -> list[ShareLinkOut]:
    return _visible_links(actor)


def _run_ids(link: ShareLinkOut) -> list[int]:
    """The runs a link shows: its run, its runs, or the runs its experiment had when it was made."""
    view = link.view
    if isinstance(view, RunView):
        return [view.run_id]
    if isinstance(view, CompareView):
        return list(view.runs)
    if isinstance(view, ExperimentView):
        if view.runs is not None:
            return list(view.runs)
        # made before links were frozen: the runs that had finished when it was made
        finished = store.get_runs(store.run_ids_of_experiment(view.experiment_id))
        return [r.id for r in finished if r.finished_at is not None and r.finished_at <= link.created_at]
    return []  # a view stored before views were typed that is none of them


def share_link_rows(*, actor: Principal) -> list[ShareLinkRow]:
    return [ShareLinkRow(link=link, run_ids=_run_ids(link)) for link in _visible_links(actor)]


def revoke_share_link(token: str, *, actor: Principal) -> None:
    exists, owner_id = store.get_share_link_owner(token)
    if not exists:
        raise NotFound("share link not found")
    require_owner(actor, owner_id, "revoking a share link")
    store.revoke_share_link(token)


def open_share_link(token: str, *, with_history: bool = True) -> SharedView:
    """The run or comparison behind a working link, as a visitor may see it (backend.redaction);
    NotFound when the link (or its run) is gone."""
    link = store.get_share_link(token)
    if link is None or link.view is None:
        raise NotFound(GONE)
    run_ids = _run_ids(link)
    if isinstance(link.view, RunView):
        try:
            details = run_details(run_ids[0], with_history=with_history)
        except NotFound:
            raise NotFound("The shared run no longer exists.") from None
        return SharedView(link=link, run=replace(details, run=public_run(details.run)))
    if not run_ids:  # an experiment none of whose runs had succeeded when the link was made
        return SharedView(link=link, comparison=build_compare([], [], "accuracy", None))
    baseline = link.view.baseline if isinstance(link.view, CompareView | ExperimentView) else None
    try:
        comparison = compare_runs(run_ids, baseline=baseline)
    except NotFound:
        raise NotFound("A shared run no longer exists.") from None
    return SharedView(link=link, comparison=public_comparison(comparison), run_ids=run_ids)
