"""Accounts: users, passwords, API tokens, and turning a credential into the Principal that asks.

Passwords are hashed with argon2id through pwdlib (its recommended parameters). A login for a name
that does not exist still verifies a dummy hash, so a wrong name and a wrong password take the same
time (as fastapi/full-stack-fastapi-template's `authenticate` does).

API tokens are `xlt_` + 43 URL-safe characters (secrets.token_urlsafe(32): 256 random bits), shown
once and stored as their SHA-256. A fast unsalted hash is enough here, unlike for passwords: a token
is random, not chosen by a person, so there is no dictionary to try and 2^256 guesses to make, and
the lookup stays one indexed SELECT per API call instead of ~1 s of argon2. Its first 12 characters
(`xlt_` + 8) are kept in the clear as a prefix to list and revoke it by.

A browser session (Starlette's signed cookie) holds the user id and a fingerprint of the password
hash: changing a password ends the user's other sessions, and disabling a user ends them at once
(every request reloads the user).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from pwdlib import PasswordHash

from backend.errors import Conflict, Invalid, NotFound, Unauthorized
from backend.schemas import ROLES, ApiTokenOut, Principal, Role, UserOut
from backend.settings import Settings
from backend.store import users as store

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
MIN_PASSWORD, MAX_PASSWORD = 8, 1024
TOKEN_MARK = "xlt_"
PREFIX_LENGTH = len(TOKEN_MARK) + 8
LOCAL_ADMIN = Principal(id=None, name="local", role="admin", via="local")
WRONG_LOGIN = "Wrong user name or password."

PASSWORDS = PasswordHash.recommended()  # argon2id


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return PASSWORDS.hash("not a password of anyone")


# ── users ────────────────────────────────────────────────────────────────────────────────────────


def _check_name(name: str) -> None:
    if not NAME_PATTERN.fullmatch(name):
        raise Invalid("name: 1–64 letters, digits or . _ @ - (starting with a letter or digit)")


def _check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise Invalid(f"password: {MIN_PASSWORD} to {MAX_PASSWORD} characters")


def _check_role(role: str) -> Role:
    if role not in ROLES:
        raise Invalid(f"role: '{role}' is not one of {', '.join(ROLES)}")
    return role  # type: ignore[return-value]


def create_user(name: str, password: str, role: str = "member") -> UserOut:
    """Raises Invalid (name, password, role) or Conflict (name taken)."""
    _check_name(name)
    _check_password(password)
    return store.create_user(name, PASSWORDS.hash(password), _check_role(role))


def list_users() -> list[UserOut]:
    return store.list_users()


def set_disabled(name: str, disabled: bool = True) -> UserOut:
    """A disabled user's sessions and tokens stop working with their next request."""
    user = store.set_disabled(name, disabled)
    if user is None:
        raise NotFound(f"no user '{name}'")
    return user


def set_password(name: str, password: str) -> None:
    """Also ends the user's browser sessions (their fingerprint changes)."""
    _check_password(password)
    if not store.set_password_hash(name, PASSWORDS.hash(password)):
        raise NotFound(f"no user '{name}'")


def user_by_name(name: str) -> UserOut:
    user = store.get_user_by_name(name)
    if user is None:
        raise NotFound(f"no user '{name}'")
    return user


# ── browser sessions ─────────────────────────────────────────────────────────────────────────────


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Login:
    """A successful login: the user, and what their session cookie carries."""

    user: UserOut
    session: dict[str, Any]


def authenticate(name: str, password: str) -> Login:
    """Raises Unauthorized with the same message for an unknown name and a wrong password."""
    credentials = store.get_credentials(name) if NAME_PATTERN.fullmatch(name) else None
    if credentials is None:
        PASSWORDS.verify(password[:MAX_PASSWORD], _dummy_hash())  # same time as a wrong password
        raise Unauthorized(WRONG_LOGIN)
    if not PASSWORDS.verify(password[:MAX_PASSWORD], credentials.password_hash):
        raise Unauthorized(WRONG_LOGIN)
    if credentials.user.disabled:
        raise Unauthorized("This account is disabled. Ask an admin to enable it.")
    fingerprint = _fingerprint(credentials.password_hash)
    return Login(user=credentials.user, session={"uid": credentials.user.id, "fp": fingerprint})


def principal_for_session(session: dict[str, Any]) -> Principal | None:
    """The user a session cookie names, if they still exist, are enabled and kept their password."""
    uid, fingerprint = session.get("uid"), session.get("fp")
    if not isinstance(uid, int) or not isinstance(fingerprint, str):
        return None
    credentials = store.get_session_user(uid)
    if credentials is None or credentials.user.disabled:
        return None
    if not hmac.compare_digest(fingerprint, _fingerprint(credentials.password_hash)):
        return None
    user = credentials.user
    return Principal(id=user.id, name=user.name, role=user.role, via="session")


# ── API tokens ───────────────────────────────────────────────────────────────────────────────────


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewToken:
    token: str  # shown once; only its hash is stored
    info: ApiTokenOut


def create_token(user_name: str, label: str = "") -> NewToken:
    if len(label) > 100:
        raise Invalid("label: at most 100 characters")
    user = user_by_name(user_name)
    token = TOKEN_MARK + secrets.token_urlsafe(32)
    prefix, token_hash = token[:PREFIX_LENGTH], _token_hash(token)
    info = store.create_token(user.id, label=label, prefix=prefix, token_hash=token_hash)
    return NewToken(token=token, info=info)


def principal_for_token(token: str) -> Principal | None:
    """The enabled user behind a live token, or None."""
    if not token.startswith(TOKEN_MARK) or len(token) > 200:
        return None
    user = store.user_for_token(_token_hash(token))
    if user is None or user.disabled:
        return None
    return Principal(id=user.id, name=user.name, role=user.role, via="token")


def list_tokens(user_name: str | None = None) -> list[ApiTokenOut]:
    return store.list_tokens(user_by_name(user_name).id if user_name else None)


def revoke_token(token_or_prefix: str) -> ApiTokenOut:
    """Revoke by the whole token or by its prefix (`xlt_` + 8 characters, as `xlt tokens list` shows)."""
    value = token_or_prefix.strip()
    if len(value) > PREFIX_LENGTH:
        found = store.find_tokens(token_hash=_token_hash(value))
    else:
        found = store.find_tokens(prefix=value) if len(value) == PREFIX_LENGTH else []
    if not found:
        raise NotFound("no live token with that value or prefix")
    if len(found) > 1:
        raise Conflict(f"{len(found)} tokens share the prefix {value}: revoke by the whole token")
    store.revoke_token(found[0].id)
    return found[0]


# ── the first admin of a fresh deployment ────────────────────────────────────────────────────────


def write_private(path: Path, text: str) -> None:
    """Create `path` readable by its owner only (0600) from the first byte; never overwrite."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def bootstrap_admin(settings: Settings) -> str | None:
    """Create XLT_ADMIN_USER as admin when the database has no user yet; return what to tell the operator.

    The password comes from XLT_ADMIN_PASSWORD_FILE, or is generated into <home>/initial_admin_password
    (0600, never logged). Does nothing once any user exists, so it is safe on every start.
    """
    if not settings.admin_user or store.count_users() > 0:
        return None
    if settings.admin_password_file:
        password = Path(settings.admin_password_file).read_text().strip()
        where = f"the password in {settings.admin_password_file}"
    else:
        password = secrets.token_urlsafe(18)
        path = settings.home / "initial_admin_password"
        settings.ensure_home()
        path.unlink(missing_ok=True)
        write_private(path, password + "\n")
        where = f"the password written to {path} (delete it after the first login)"
    create_user(settings.admin_user, password, "admin")
    return f"created admin '{settings.admin_user}' with {where}"
