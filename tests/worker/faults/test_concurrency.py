"""Several consumers at once: two workers on two queues and every task delivered twice (each run
trained once, by the worker of its queue), and one worker running two CPU runs at once."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backend import queue, store
from backend.schemas import RunOut
from backend.settings import Settings
from tests.factories import WorkerProcess, tiny_run_config, wait_until


def _finished(run_ids: list[int]) -> list[RunOut] | None:
    runs = store.get_runs(run_ids)
    return runs if all(r.status in ("succeeded", "failed", "cancelled") for r in runs) else None


def _worker_on(queues: str, start_worker: Any) -> WorkerProcess:
    os.environ["XLT_WORKER_QUEUES"] = queues  # read when the process starts; xlt_environment restores
    try:
        worker: WorkerProcess = start_worker()
    finally:
        del os.environ["XLT_WORKER_QUEUES"]
    return worker


@pytest.mark.slow
def test_two_workers_on_two_queues_train_each_run_once_though_every_task_is_delivered_twice(
    embedded_fast: Settings, tiny_model: Path, start_worker: Any, api: TestClient
) -> None:
    cpu_worker = _worker_on(embedded_fast.cpu_queue, start_worker)
    gpu_worker = _worker_on(embedded_fast.gpu_queue, start_worker)
    run_ids = []
    for seed, device in [(1, "cpu"), (2, "cpu"), (3, "auto"), (4, "auto")]:  # auto → the gpu queue
        created = api.post("/api/runs", json=tiny_run_config(tiny_model, seed=seed, device=device)).json()
        queue.enqueue_run(created["id"], created["queue"], queue.new_task_id())  # the same task again
        run_ids.append(created["id"])
    logs = cpu_worker.log_tail() + gpu_worker.log_tail()
    done = wait_until(lambda: _finished(run_ids), 240, "all finished", logs)
    assert [r.status for r in done] == ["succeeded"] * 4, [r.error_message for r in done]
    assert [r.attempts for r in done] == [1] * 4
    assert [r.worker_host for r in done] == [cpu_worker.name] * 2 + [gpu_worker.name] * 2
    for run in done:
        keys = [(s.dataset, s.language, s.split, s.metric) for s in store.get_scores(run.id)]
        assert len(keys) == len(set(keys)) == 3
    for name in (embedded_fast.cpu_queue, embedded_fast.gpu_queue):  # the duplicates were taken, and skipped
        wait_until(lambda name=name: queue.queue_depth(name) == 0, 30, f"{name} drained")


@pytest.mark.slow
def test_a_worker_with_concurrency_2_trains_two_cpu_runs_at_once(
    embedded_fast: Settings, tiny_model: Path, start_worker: Any, api: TestClient
) -> None:
    os.environ["XLT_WORKER_CONCURRENCY"] = "2"
    try:
        worker = start_worker()
    finally:
        del os.environ["XLT_WORKER_CONCURRENCY"]
    config = tiny_run_config(tiny_model, max_train_examples=800)
    run_ids = [api.post("/api/runs", json={**config, "name": f"c{i}"}).json()["id"] for i in (1, 2)]
    both = wait_until(
        lambda: (runs := store.get_runs(run_ids)) and all(r.status == "running" for r in runs) and runs,
        180,
        "both running at once",
        worker.log_tail(),
    )
    assert both[0].worker_host != both[1].worker_host  # two pool processes
    done = wait_until(lambda: _finished(run_ids), 240, "both finished", worker.log_tail())
    assert [r.status for r in done] == ["succeeded"] * 2, [r.error_message for r in done]
