"""100 submissions at once over HTTP against the real app under uvicorn: exactly 100 runs, all 201,
each sent to the broker once; on SQLite (SQLite broker) and on PostgreSQL (Redis)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from backend import queue, store
from backend.settings import Settings
from tests.factories import free_port, tiny_config, wait_until

N = 100


@contextmanager
def _served() -> Iterator[str]:
    """The app under uvicorn on 127.0.0.1 in a thread of this process."""
    import uvicorn

    from backend.app import create_app

    config = uvicorn.Config(create_app(), host="127.0.0.1", port=free_port(), log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, 30, "uvicorn started")
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def _submit_at_once(url: str) -> list[httpx.Response]:
    start = threading.Barrier(N)
    responses: list[httpx.Response] = []
    lock = threading.Lock()

    def submit(i: int) -> None:
        start.wait()
        response = httpx.post(f"{url}/api/runs", json=tiny_config(name=f"c{i}"), timeout=120)
        with lock:
            responses.append(response)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    return responses


def _check(settings: Settings, responses: list[httpx.Response]) -> None:
    assert sorted(r.status_code for r in responses) == [201] * N, {r.text for r in responses}
    ids = {r.json()["id"] for r in responses}
    listed = store.list_runs(page_size=1000).items
    assert len(ids) == N and {r.id for r in listed} == ids
    assert not any(r.waiting_for_queue for r in listed)
    assert queue.queue_depth(settings.cpu_queue) == N  # every run sent, once


@pytest.mark.slow
def test_100_concurrent_submissions_on_sqlite_create_exactly_100_runs(embedded_settings: Settings) -> None:
    with _served() as url:
        _check(embedded_settings, _submit_at_once(url))


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
def test_100_concurrent_submissions_on_postgres_create_exactly_100_runs(pg_redis_settings: Settings) -> None:
    with _served() as url:
        _check(pg_redis_settings, _submit_at_once(url))
