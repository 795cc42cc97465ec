"""A worker SIGKILLed mid-run: the run is re-queued when its heartbeat goes stale, another worker
resumes it from its last checkpoint, and it succeeds once, with one score set and one loss curve,
on its second attempt; its checkpoints are gone afterwards."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backend import store
from backend.schemas import RunOut
from backend.settings import Settings
from tests.factories import tiny_run_config, wait_until


def _run(run_id: int) -> RunOut:
    run = store.get_run(run_id)
    assert run is not None
    return run


@pytest.mark.slow
def test_a_worker_killed_mid_run_is_resumed_by_another_and_succeeds_with_one_score_set(
    embedded_fast: Settings, tiny_model: Path, start_worker: Any, api: TestClient
) -> None:
    workers = []
    for _ in range(2):  # one after the other: kombu's SQLite transport races creating its queue table rows
        workers.append(start_worker())
        workers[-1].wait_ready()
    config = tiny_run_config(tiny_model, max_train_examples=1600)  # 100 steps
    run_id = api.post("/api/runs", json=config).json()["id"]
    logs = lambda: "\n".join(w.log_tail() for w in workers)  # noqa: E731

    checkpoints = embedded_fast.run_checkpoint_dir(run_id)
    mid_run = wait_until(
        lambda: (run := _run(run_id)).status == "running" and any(checkpoints.glob("ckpt-*")) and run,
        180,
        "mid-run, a checkpoint written",
        logs(),
    )
    assert mid_run.attempts == 1
    victim, survivor = sorted(workers, key=lambda w: w.name != mid_run.worker_host)
    assert victim.name == mid_run.worker_host
    victim.kill()
    killed = time.monotonic()

    resumed = wait_until(
        lambda: (run := _run(run_id)).status == "running" and run.attempts == 2 and run, 60, "resumed", logs()
    )
    resumed_after = time.monotonic() - killed
    assert resumed.worker_host == survivor.name
    done = wait_until(lambda: (run := _run(run_id)).status != "running" and run, 240, "finished", logs())
    assert done.status == "succeeded", done.error_message
    assert done.attempts == 2 and done.error_message is None
    assert '<dd id="run-attempt">2 of 3</dd>' in api.get(f"/runs/{run_id}").text
    scores = store.get_scores(run_id)
    keys = [(s.dataset, s.language, s.split, s.metric) for s in scores]
    assert len(keys) == len(set(keys))
    assert sorted(s.language for s in scores if s.metric == "accuracy") == ["de", "en", "sw"]
    assert done.summary is not None and done.summary["resume"]["step"] > 0  # from a checkpoint
    (loss,) = [s for s in store.get_history(run_id) if s.name == "loss"]
    assert loss.steps == sorted(set(loss.steps)) and loss.steps[0] == 1  # one curve, no step twice
    wait_until(lambda: not checkpoints.exists(), 30, "checkpoints removed")  # right after storing
    print(
        f"\nworker killed at progress {mid_run.progress:.2f}; run claimed again after {resumed_after:.1f} s,"
        f" resumed at step {done.summary['resume']['step']}"
    )
