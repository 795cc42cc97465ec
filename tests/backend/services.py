"""Test environments for the service: embedded (SQLite + SQLite broker), PostgreSQL, Redis.

Plain context managers (used by the fixtures of tests/backend and tests/worker): each sets the
XLT_ environment, forgets cached settings/engines/Celery apps, and migrates a fresh database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from backend.db import dispose_engines
from backend.queue import reset_apps
from backend.settings import Settings, get_settings, reset_settings

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS = "redis://127.0.0.1:6379"
DATA_DIR = os.environ.get("XLT_DATA_DIR") or str(Path(__file__).resolve().parents[3] / "shared" / "data")
XLT_KEYS = [k for k in os.environ if k.startswith("XLT_")]


def reset_caches() -> None:
    reset_settings()
    dispose_engines()
    reset_apps()


@contextmanager
def xlt_environment(**values: str) -> Iterator[Settings]:
    """Set XLT_* variables (others unset) for the duration; yields fresh Settings."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("XLT_")}
    for key in saved:
        del os.environ[key]
    os.environ.update({f"XLT_{k.upper()}": v for k, v in values.items()})
    os.environ.setdefault("XLT_DATA_DIR", DATA_DIR)
    reset_caches()
    try:
        yield get_settings()
    finally:
        for key in [k for k in os.environ if k.startswith("XLT_")]:
            del os.environ[key]
        os.environ.update(saved)
        reset_caches()


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database; yields its SQLAlchemy URL and drops it afterwards."""
    import psycopg

    name = f"xlt_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        dispose_engines()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def embedded(home: Path) -> Iterator[Settings]:
    from backend.migrate import upgrade

    with xlt_environment(home=str(home)) as settings:
        upgrade()
        yield settings


@contextmanager
def postgres_redis(home: Path) -> Iterator[Settings]:
    """PostgreSQL database + Redis broker with queue names of our own (other tests share the server)."""
    from backend.migrate import upgrade

    suffix = uuid.uuid4().hex[:8]
    with (
        postgres_database() as url,
        xlt_environment(
            home=str(home),
            database_url=url,
            broker_url=f"{REDIS}/0",
            gpu_queue=f"gpu-{suffix}",
            cpu_queue=f"cpu-{suffix}",
        ) as settings,
    ):
        upgrade()
        try:
            yield settings
        finally:
            import redis

            client = redis.Redis.from_url(f"{REDIS}/0")
            client.delete(settings.gpu_queue, settings.cpu_queue)
