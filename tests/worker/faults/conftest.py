"""Fault injection: real worker processes, a private Redis and a private PostgreSQL that the tests
stop, flush and kill, with reliability timings short enough for a test (heartbeat 0.5 s, stale after
8 s, dispatcher rounds every 0.5 s); the shared servers on 6379/5432 are never touched."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend.settings import Settings
from tests.factories import PrivatePostgres, PrivateRedis, postgres_database, xlt_environment

FAST = {
    "heartbeat_seconds": "0.5",
    "stale_after": "8",
    "dispatch_interval": "0.5",
    "redispatch_after": "3",
    "flush_interval": "0.25",
    "result_retry_seconds": "120",
    "checkpoint_minutes": "0.02",
}


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    yield server
    server.remove()


def _migrated(home: Path, **values: str) -> Iterator[Settings]:
    from backend.migrate import upgrade

    with xlt_environment(home=str(home), **FAST, **values) as settings:
        upgrade()
        yield settings


@pytest.fixture
def embedded_fast(tmp_path: Path) -> Iterator[Settings]:
    """SQLite database and broker."""
    yield from _migrated(tmp_path / "xlt")


@pytest.fixture
def postgres_private_redis(tmp_path: Path, private_redis: PrivateRedis) -> Iterator[Settings]:
    """A fresh database on the shared PostgreSQL, the test's own Redis as broker."""
    with postgres_database() as url:
        yield from _migrated(tmp_path / "xlt", database_url=url, broker_url=private_redis.url)


@pytest.fixture
def private_postgres_redis(
    tmp_path: Path, private_postgres: PrivatePostgres, private_redis: PrivateRedis
) -> Iterator[Settings]:
    """The test's own PostgreSQL and Redis: both may go down."""
    yield from _migrated(tmp_path / "xlt", database_url=private_postgres.url, broker_url=private_redis.url)


@pytest.fixture
def api(request: pytest.FixtureRequest) -> TestClient:
    """The API in this process, without a dispatcher: the workers' dispatchers do all the healing."""
    from backend.app import create_app

    return TestClient(create_app())
