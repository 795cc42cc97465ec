"""Who may do what: the role ladder and ownership, checked by the services before they change anything.

    viewer   reads everything (runs, results, comparisons, experiments, its own share links)
    member   + launches runs and sweeps; cancels, retries, tags and annotates its OWN runs;
             creates share links and revokes its own
    admin    + all of that on anyone's runs and links, and manages users (`xlt users …`)

The implicit local admin of a server without accounts (XLT_AUTH off) is an admin. Runs and links
without an owner (made without accounts, or imported) are changed by admins only. Templates ask the
same functions (`may_launch`, `may_change`) so they hide the buttons a user cannot use; the check
that counts is the one here.
"""

from __future__ import annotations

from backend.errors import Forbidden
from backend.schemas import Principal, Role

RANK: dict[Role, int] = {"viewer": 0, "member": 1, "admin": 2}


def has_role(actor: Principal, role: Role) -> bool:
    return RANK[actor.role] >= RANK[role]


def require_role(actor: Principal, role: Role, doing: str) -> None:
    if not has_role(actor, role):
        raise Forbidden(f"{doing} needs the {role} role; {actor.name} is a {actor.role}")


def may_launch(actor: Principal) -> bool:
    return has_role(actor, "member")


def may_change(actor: Principal, owner_id: int | None) -> bool:
    """Admins change anything; members what they own."""
    if actor.role == "admin":
        return True
    return actor.role == "member" and actor.id is not None and owner_id == actor.id


def require_owner(actor: Principal, owner_id: int | None, doing: str) -> None:
    if not may_change(actor, owner_id):
        if actor.role == "viewer":
            raise Forbidden(f"{doing} needs the member role; {actor.name} is a viewer")
        raise Forbidden(f"{doing}: only its owner or an admin may")
