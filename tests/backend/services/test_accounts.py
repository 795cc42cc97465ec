"""backend.services.accounts: hashes, tokens, sessions and the bootstrap admin."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import select

from backend.db import session
from backend.errors import Conflict, Invalid, NotFound, Unauthorized
from backend.models import ApiToken, User
from backend.services import accounts
from backend.settings import Settings
from tests.factories import TEST_PASSWORD, make_account, xlt_environment


def test_a_user_is_stored_with_an_argon2id_hash_and_names_are_unique(auth_settings: Settings) -> None:
    user = accounts.create_user("alice", "a long enough password", "viewer")
    assert (user.name, user.role, user.disabled) == ("alice", "viewer", False)
    with session() as s:
        stored = s.scalar(select(User.password_hash).where(User.name == "alice"))
    assert stored is not None and stored.startswith("$argon2id$") and "long enough" not in stored
    with pytest.raises(Conflict, match="already exists"):
        accounts.create_user("alice", "another long password")
    for name, password, role, field in [
        ("bob", "short", "member", "password"),
        ("b" * 65, "a long enough password", "member", "name"),
        ("bob smith", "a long enough password", "member", "name"),
        ("bob", "a long enough password", "owner", "role"),
    ]:
        with pytest.raises(Invalid, match=field):
            accounts.create_user(name, password, role)
    assert [u.name for u in accounts.list_users()] == ["alice"]


def test_login_fails_alike_for_an_unknown_name_and_a_wrong_password(auth_settings: Settings) -> None:
    make_account("alice")
    for name, password in [("alice", "wrong password"), ("nobody", TEST_PASSWORD), ("<script>", "x")]:
        with pytest.raises(Unauthorized) as raised:
            accounts.authenticate(name, password)
        assert raised.value.message == accounts.WRONG_LOGIN
    login = accounts.authenticate("alice", TEST_PASSWORD)
    assert accounts.principal_for_session(login.session) is not None
    accounts.set_password("alice", "a brand new password")  # ends the sessions made before
    assert accounts.principal_for_session(login.session) is None
    assert accounts.principal_for_session({"uid": "1", "fp": "x"}) is None


def test_tokens_are_stored_as_sha256_and_revoked_by_prefix_or_whole(auth_settings: Settings) -> None:
    alice = make_account("alice")
    second = accounts.create_token("alice", "laptop")
    with session() as s:
        hashes = list(s.scalars(select(ApiToken.token_hash)))
        prefixes = list(s.scalars(select(ApiToken.prefix).order_by(ApiToken.id)))
    assert all(len(h) == 64 for h in hashes) and not {alice.token, second.token} & set(hashes)
    assert prefixes == [alice.token[:12], second.token[:12]]
    assert accounts.principal_for_token(second.token).name == "alice"  # type: ignore[union-attr]
    assert accounts.revoke_token(second.token).label == "laptop"
    assert accounts.principal_for_token(second.token) is None
    accounts.revoke_token(alice.token[:12])
    with pytest.raises(NotFound):
        accounts.revoke_token(alice.token[:12])  # already revoked
    with pytest.raises(NotFound):
        accounts.revoke_token("xlt_")  # too short to name one token
    with pytest.raises(NotFound):
        accounts.create_token("nobody")


def test_the_bootstrap_admin_is_made_once_with_a_private_password_file(tmp_path: Path) -> None:
    from backend.migrate import upgrade

    with xlt_environment(home=str(tmp_path), admin_user="root") as settings:
        upgrade()
        said = accounts.bootstrap_admin(settings)
        path = tmp_path / "initial_admin_password"
        assert said and str(path) in said and stat.S_IMODE(path.stat().st_mode) == 0o600
        assert accounts.authenticate("root", path.read_text().strip()).user.role == "admin"
        assert accounts.bootstrap_admin(settings) is None  # a user exists: nothing to do
    given = tmp_path / "given"
    given.write_text("from a docker secret\n")
    with xlt_environment(
        home=str(tmp_path / "b"), admin_user="boss", admin_password_file=str(given)
    ) as settings:
        upgrade()
        accounts.bootstrap_admin(settings)
        assert accounts.authenticate("boss", "from a docker secret").user.name == "boss"
