"""A cancel sent while a run evaluates (after its last training step) stops it within seconds."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backend import store
from backend.settings import Settings
from tests.factories import tiny_run_config, wait_until


@pytest.mark.slow
def test_a_cancel_during_evaluation_stops_the_run_within_seconds(
    embedded_fast: Settings, tiny_model: Path, start_worker: Any, api: TestClient
) -> None:
    worker = start_worker()
    config = tiny_run_config(tiny_model)
    # Every XNLI language, 4 pairs a batch, and the generalized L×L matrix: minutes of evaluation.
    config["eval"] = {"batch_size": 4, "generalized": True}
    run_id = api.post("/api/runs", json=config).json()["id"]
    wait_until(
        lambda: (r := store.get_run(run_id)) and r.status == "running" and r.progress == 1.0,
        180,
        "training done, evaluating",
        worker.log_tail(),
    )
    requested = time.monotonic()
    assert api.post(f"/api/runs/{run_id}/cancel").status_code == 200
    done = wait_until(
        lambda: (r := store.get_run(run_id)) and r.status != "running" and r, 30, "stopped", worker.log_tail()
    )
    stopped_after = time.monotonic() - requested
    assert done.status == "cancelled" and store.get_scores(run_id) == []
    assert stopped_after < 10
    wait_until(lambda: not embedded_fast.run_checkpoint_dir(run_id).exists(), 30, "checkpoints removed")
    print(f"\ncancel during evaluation: cancelled {stopped_after:.1f} s after the request")
