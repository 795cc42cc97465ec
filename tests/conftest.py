"""Fixtures shared by every test folder: the embedded stack (SQLite database and broker) with or
without an ASGI test client, PostgreSQL + Redis with queue names of their own, and the same embedded
stack with accounts on (XLT_AUTH=on): an admin, two members and a viewer, each with an API token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend.settings import Settings
from tests.factories import Account, embedded, make_account, postgres_redis


@pytest.fixture
def embedded_settings(tmp_path: Path) -> Iterator[Settings]:
    with embedded(tmp_path / "xlt") as settings:
        yield settings


@pytest.fixture
def client(embedded_settings: Settings) -> Iterator[TestClient]:
    from backend.app import create_app

    with TestClient(create_app()) as c:
        yield c


@pytest.fixture
def pg_redis_settings(tmp_path: Path) -> Iterator[Settings]:
    with postgres_redis(tmp_path / "xlt") as settings:
        yield settings


@pytest.fixture
def auth_settings(tmp_path: Path) -> Iterator[Settings]:
    """Accounts on, as on a server others can reach (the embedded start on 127.0.0.1 runs without)."""
    with embedded(tmp_path / "xlt", auth="on") as settings:
        yield settings


@pytest.fixture
def accounts(auth_settings: Settings) -> dict[str, Account]:
    """admin, alice and bob (members), vera (viewer)."""
    roles = {"admin": "admin", "alice": "member", "bob": "member", "vera": "viewer"}
    return {name: make_account(name, role) for name, role in roles.items()}


@pytest.fixture
def auth_client(auth_settings: Settings) -> Iterator[TestClient]:
    """A client of the auth-on app without credentials; pass `headers=account.headers` per request."""
    from backend.app import create_app

    with TestClient(create_app(), follow_redirects=False) as c:
        yield c
