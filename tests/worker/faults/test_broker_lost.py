"""The broker loses runs: Redis is down when a run is submitted, or restarts empty / is flushed
with runs queued. The runs table is the queue of record: every run still runs, exactly once."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backend import queue, store
from backend.settings import Settings
from tests.factories import PrivateRedis, tiny_run_config, wait_until


def _finished(run_id: int) -> Any:
    run = store.get_run(run_id)
    return run if run is not None and run.status in ("succeeded", "failed", "cancelled") else None


@pytest.mark.slow
def test_a_run_submitted_while_redis_is_down_waits_for_the_queue_then_runs_once(
    postgres_private_redis: Settings,
    private_redis: PrivateRedis,
    tiny_model: Path,
    start_worker: Any,
    api: TestClient,
) -> None:
    worker = start_worker()
    worker.wait_ready()
    private_redis.stop()

    submitted = time.monotonic()
    response = api.post("/api/runs", json=tiny_run_config(tiny_model))
    submit_s = time.monotonic() - submitted
    assert response.status_code == 201, response.text
    assert "waiting for the queue" in response.json()["message"]
    run_id = response.json()["id"]
    run = api.get(f"/api/runs/{run_id}").json()
    assert (
        run["status"] == "queued"
        and run["waiting_for_queue"]
        and "broker unreachable" in run["dispatch_error"]
    )
    assert "waiting for the queue" in api.get(f"/runs/{run_id}").text
    time.sleep(2)  # the worker's dispatcher tries, and the run keeps waiting: nothing is failed
    assert api.get(f"/api/runs/{run_id}").json()["status"] == "queued"

    private_redis.start()  # empty: a restart without persistence
    back = time.monotonic()
    wait_until(
        lambda: (r := store.get_run(run_id)) and r.status != "queued",
        60,
        "sent and claimed",
        worker.log_tail(),
    )
    claimed_after = time.monotonic() - back
    done = wait_until(lambda: _finished(run_id), 120, "finished", worker.log_tail())
    assert done.status == "succeeded", done.error_message
    assert done.attempts == 1
    print(f"\nsubmit with Redis down answered in {submit_s:.1f} s")
    print(f"Redis back: run claimed after {claimed_after:.1f} s")


@pytest.mark.slow
def test_runs_queued_when_redis_is_flushed_all_still_run_once(
    postgres_private_redis: Settings,
    private_redis: PrivateRedis,
    tiny_model: Path,
    start_worker: Any,
    api: TestClient,
) -> None:
    run_ids = [
        api.post("/api/runs", json=tiny_run_config(tiny_model, seed=s)).json()["id"] for s in (1, 2, 3)
    ]
    assert queue.queue_depth(postgres_private_redis.cpu_queue) == 3
    private_redis.flushall()
    flushed = time.monotonic()
    assert queue.queue_depth(postgres_private_redis.cpu_queue) == 0

    worker = start_worker()
    done = [
        wait_until(lambda r=r: _finished(r), 180, f"run {r} finished", worker.log_tail()) for r in run_ids
    ]
    assert [r.status for r in done] == ["succeeded"] * 3
    assert [r.attempts for r in done] == [1, 1, 1]
    all_done = time.monotonic() - flushed
    wait_until(lambda: queue.queue_depth(postgres_private_redis.cpu_queue) == 0, 30, "no message left")
    print(f"\nFLUSHALL with 3 queued runs: all 3 succeeded {all_done:.1f} s later (worker start included)")
