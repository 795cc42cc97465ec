"""Engines and sessions. SQLite gets WAL, a busy timeout and foreign keys; PostgreSQL a small pool
with pre-ping, so connections lost in a database restart are replaced without restarting anything.

One engine per URL, created on first use; `session()` opens a unit of work for the store.
`is_unavailable(exc)` tells "the database is down or busy" (a 503, worth retrying) from a bad
statement. A forked child (Celery's prefork pool) forgets the parent's engines: it must not share
their connections.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from backend.settings import get_settings

_lock = threading.Lock()
_engines: dict[str, Engine] = {}
_makers: dict[str, sessionmaker[Session]] = {}


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


# orjson: JSON columns (run configs, summaries) decode several times faster than with json.loads.
JSON_ARGS: dict[str, Any] = {"json_serializer": _json_dumps, "json_deserializer": orjson.loads}


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **JSON_ARGS)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # pre-ping: after a database restart, pooled connections are replaced on checkout (no restart
    # of XLT Lab); a short connect timeout turns an unreachable server into a quick, clear error.
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        pool_timeout=30,
        connect_args={"connect_timeout": 5},
        **JSON_ARGS,
    )


def get_engine(url: str | None = None) -> Engine:
    url = url or get_settings().database_url
    with _lock:
        if url not in _engines:
            _engines[url] = make_engine(url)
            _makers[url] = sessionmaker(_engines[url], expire_on_commit=False)
        return _engines[url]


@contextmanager
def session(url: str | None = None) -> Iterator[Session]:
    """A transaction: commits on success, rolls back on error."""
    url = url or get_settings().database_url
    get_engine(url)
    with _makers[url]() as s, s.begin():
        yield s


def dispose_engines() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _makers.clear()


def _forget_engines_in_child() -> None:
    """After fork: a new lock (the parent's may have been held) and no engines; the parent's pooled
    connections are dropped without closing them, which would close them for the parent too."""
    global _lock
    _lock = threading.Lock()
    for engine in _engines.values():
        engine.dispose(close=False)
    _engines.clear()
    _makers.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_engines_in_child)


def is_unavailable(error: BaseException) -> bool:
    """The database cannot be reached or is busy right now (down, restarting, locked, pool exhausted),
    as opposed to a statement it refused: callers answer 503 or retry."""
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, exc.OperationalError | exc.InterfaceError | exc.TimeoutError)
