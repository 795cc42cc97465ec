"""Accounts: users and their API tokens. Passwords arrive here already hashed (argon2id, in
backend.services.accounts) and tokens as their SHA-256; nothing secret is stored in the clear."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from backend.db import session
from backend.errors import Conflict
from backend.models import ApiToken, User, utcnow
from backend.schemas import ApiTokenOut, Role, UserOut
from backend.store.common import aware

TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is written at most once a minute per token


class UserCredentials(BaseModel):
    """A user with the password hash: only the accounts service sees this, to verify a login."""

    user: UserOut
    password_hash: str


def _user_out(user: Any) -> UserOut:
    return UserOut(
        id=user.id,
        name=user.name,
        role=user.role,
        disabled=user.disabled,
        created_at=aware(user.created_at),  # type: ignore[arg-type]
    )


def _token_out(token: ApiToken, user_name: str) -> ApiTokenOut:
    return ApiTokenOut(
        id=token.id,
        user_id=token.user_id,
        user=user_name,
        label=token.label,
        prefix=token.prefix,
        created_at=aware(token.created_at),  # type: ignore[arg-type]
        last_used_at=aware(token.last_used_at),
        revoked_at=aware(token.revoked_at),
    )


# ── users ────────────────────────────────────────────────────────────────────────────────────────


def create_user(name: str, password_hash: str, role: Role) -> UserOut:
    """Raises Conflict when the name is taken."""
    try:
        with session() as s:
            user = User(name=name, password_hash=password_hash, role=role, created_at=utcnow())
            s.add(user)
            s.flush()
            return _user_out(user)
    except IntegrityError:
        raise Conflict(f"user '{name}' already exists") from None


def get_user(user_id: int) -> UserOut | None:
    with session() as s:
        user = s.get(User, user_id)
        return None if user is None else _user_out(user)


def get_user_by_name(name: str) -> UserOut | None:
    with session() as s:
        user = s.scalar(select(User).where(User.name == name))
        return None if user is None else _user_out(user)


def _credentials(user: User | None) -> UserCredentials | None:
    return None if user is None else UserCredentials(user=_user_out(user), password_hash=user.password_hash)


def get_credentials(name: str) -> UserCredentials | None:
    with session() as s:
        return _credentials(s.scalar(select(User).where(User.name == name)))


def get_session_user(user_id: int) -> UserCredentials | None:
    """The user a session cookie names, with the hash its fingerprint is checked against."""
    with session() as s:
        return _credentials(s.get(User, user_id))


def list_users() -> list[UserOut]:
    with session() as s:
        return [_user_out(u) for u in s.scalars(select(User).order_by(User.name))]


def count_users() -> int:
    with session() as s:
        return s.scalar(select(func.count()).select_from(User)) or 0


def set_disabled(name: str, disabled: bool) -> UserOut | None:
    with session() as s:
        user = s.scalar(select(User).where(User.name == name))
        if user is None:
            return None
        user.disabled = disabled
        return _user_out(user)


def set_password_hash(name: str, password_hash: str) -> bool:
    with session() as s:
        result = s.execute(update(User).where(User.name == name).values(password_hash=password_hash))
        return bool(result.rowcount)  # type: ignore[attr-defined]


# ── API tokens ───────────────────────────────────────────────────────────────────────────────────


def create_token(user_id: int, *, label: str, prefix: str, token_hash: str) -> ApiTokenOut:
    with session() as s:
        user = s.get(User, user_id)
        if user is None:
            raise Conflict(f"user {user_id} does not exist")
        token = ApiToken(
            user_id=user_id, label=label, prefix=prefix, token_hash=token_hash, created_at=utcnow()
        )
        s.add(token)
        s.flush()
        return _token_out(token, user.name)


def user_for_token(token_hash: str) -> UserOut | None:
    """The user behind a live token (not revoked); records when it was last used (once a minute)."""
    now = utcnow()
    with session() as s:
        row = s.execute(
            select(ApiToken.id, ApiToken.last_used_at, User)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None))
        ).first()
        if row is None:
            return None
        token_id, last_used, user = row
        last = aware(last_used)
        if last is None or now - last > TOUCH_EVERY:
            s.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
        return _user_out(user)


def list_tokens(user_id: int | None = None) -> list[ApiTokenOut]:
    query = select(ApiToken, User.name).join(User, User.id == ApiToken.user_id).order_by(ApiToken.id)
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    with session() as s:
        return [_token_out(t, name) for t, name in s.execute(query)]


def find_tokens(*, token_hash: str | None = None, prefix: str | None = None) -> list[ApiTokenOut]:
    """Live tokens with this hash or this prefix (a prefix may name more than one)."""
    conds = [ApiToken.token_hash == token_hash] if token_hash else []
    conds += [ApiToken.prefix == prefix] if prefix else []
    if not conds:
        return []
    with session() as s:
        rows = s.execute(
            select(ApiToken, User.name)
            .join(User, User.id == ApiToken.user_id)
            .where(or_(*conds), ApiToken.revoked_at.is_(None))
        )
        return [_token_out(t, name) for t, name in rows]


def revoke_token(token_id: int) -> bool:
    with session() as s:
        result = s.execute(
            update(ApiToken)
            .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
