"""PostgreSQL stops mid-run: the API answers 503 meanwhile, the worker trains on, the finished
result waits in the spool, and it is stored when the database is back. Nothing restarts."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backend import store
from backend.settings import Settings
from tests.factories import PrivatePostgres, tiny_run_config, wait_until
from worker import spool


@pytest.mark.slow
def test_postgres_stopped_mid_run_the_result_is_stored_when_it_returns(
    private_postgres_redis: Settings,
    private_postgres: PrivatePostgres,
    tiny_model: Path,
    start_worker: Any,
    api: TestClient,
) -> None:
    settings = private_postgres_redis
    worker = start_worker()
    worker.wait_ready()
    run_id = api.post("/api/runs", json=tiny_run_config(tiny_model, max_train_examples=800)).json()["id"]
    wait_until(
        lambda: (r := store.get_run(run_id)) and r.status == "running" and r.progress >= 0.1,
        180,
        "mid-run",
        worker.log_tail(),
    )

    private_postgres.stop()
    down = time.monotonic()
    response = api.get(f"/api/runs/{run_id}")
    assert response.status_code == 503
    assert response.json()["message"].startswith("database unavailable: ")
    assert api.get("/healthz").status_code == 503
    spooled = wait_until(lambda: spool.pending(settings.spool_dir), 180, "result spooled", worker.log_tail())
    assert [(s.run_id, s.attempt) for s in spooled] == [(run_id, 1)]  # finished while the database was down
    outage = time.monotonic() - down

    private_postgres.start()
    back = time.monotonic()
    done = wait_until(
        lambda: (
            (r := api.get(f"/api/runs/{run_id}")).status_code == 200
            and r.json()["status"] != "running"
            and r.json()
        ),
        120,
        "stored",
        worker.log_tail(),
    )
    stored_after = time.monotonic() - back
    assert done["status"] == "succeeded", done["error_message"]
    assert done["attempts"] == 1
    assert sorted(s.language for s in store.get_scores(run_id) if s.metric == "accuracy") == [
        "de",
        "en",
        "sw",
    ]
    assert spool.pending(settings.spool_dir) == []
    assert api.get("/healthz").status_code == 200
    loss = [s for s in store.get_history(run_id) if s.name == "loss"]
    assert loss and loss[0].steps[0] == 1  # points from before the outage are kept
    print(
        f"\nPostgreSQL down {outage:.1f} s (run finished meanwhile); result stored {stored_after:.1f} s after"
    )
