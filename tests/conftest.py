"""Fixtures shared by every test folder: the embedded stack (SQLite database and broker) with or
without an ASGI test client, and PostgreSQL + Redis with queue names of their own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend.settings import Settings
from tests.factories import embedded, postgres_redis


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
