"""End to end through the API and a real Celery worker process, in both modes:
embedded (SQLite + SQLite broker) and deployment (PostgreSQL + Redis).

One worker, four runs queued at once, consumed in order:
  ok     a tiny model trains: queued → running → succeeded, a score for every requested language;
  long   is cancelled while running: ends cancelled within seconds, and the worker goes on with
  bad    a model folder (under XLT_MODEL_DIRS) that does not exist: failed with the loader's message
         and a traceback;
  after  another tiny run that succeeds (the worker is still healthy after cancel and failure);
then a 2×2×2 sweep (STS-B × method × seed) trains and compares as 4 groups, mean ± std over seeds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backend.settings import Settings
from tests.factories import embedded, postgres_redis

LANGS = ["en", "de", "sw"]


def _config(model: Path | str, **train: Any) -> dict[str, Any]:
    return {
        "task": "xnli",
        "model": str(model),
        "data": {"source": "local"},
        "train": {
            "device": "cpu",
            "epochs": 1,
            "batch_size": 16,
            "max_seq_len": 64,
            "max_train_examples": 64,
            "precision": "fp32",
            **train,
        },
        "eval": {"languages": LANGS, "batch_size": 256},
    }


@pytest.fixture(
    params=["embedded", pytest.param("postgres_redis", marks=[pytest.mark.postgres, pytest.mark.redis])]
)
def mode(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    environment = embedded if request.param == "embedded" else postgres_redis
    with environment(tmp_path / "xlt") as settings:
        yield settings


def _wait(
    client: TestClient, run_id: int, done: Callable[[dict[str, Any]], bool], timeout: float, worker: Any
) -> dict:
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while time.monotonic() < deadline:
        run = client.get(f"/api/runs/{run_id}").json()
        if not seen or seen[-1] != run["status"]:
            seen.append(run["status"])
        if done(run):
            run["_seen"] = seen
            return run
        if worker.proc.poll() is not None or (_finished(run) and not done(run)):
            seen.append(f"{run['error_message']}")
            break
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} stuck in {seen} after {timeout}s; worker log:\n{worker.log_tail()}")


def _finished(run: dict[str, Any]) -> bool:
    return run["status"] in ("succeeded", "failed", "cancelled")


@pytest.mark.slow
def test_runs_through_a_real_worker(mode: Settings, tiny_model: Path, start_worker: Any) -> None:
    from backend.app import create_app

    client = TestClient(create_app())
    ids = {}
    for name, config in [
        ("ok", _config(tiny_model)),
        ("long", _config(tiny_model, epochs=50, max_train_examples=3000, batch_size=8)),
        ("bad", _config(tiny_model.parent / "nonexistent-model-xyz")),
        ("after", _config(tiny_model, seed=7)),
    ]:
        response = client.post("/api/runs", json=config)
        assert response.status_code == 201, response.text
        ids[name] = response.json()["id"]
    assert client.get(f"/api/runs/{ids['ok']}").json()["status"] == "queued"

    worker = start_worker()

    ok = _wait(client, ids["ok"], _finished, 120, worker)
    assert ok["status"] == "succeeded", ok["error_message"]
    assert "running" in ok["_seen"] or ok["started_at"] is not None
    assert ok["started_at"] and ok["finished_at"] and ok["worker_host"] and ok["attempts"] == 1
    scores = client.get(f"/api/runs/{ids['ok']}/scores").json()
    assert sorted(s["language"] for s in scores if s["metric"] == "accuracy") == sorted(LANGS)
    assert all(s["n"] > 0 and 0 <= s["value"] <= 1 for s in scores)
    assert ok["average"] is not None
    loss = [s for s in client.get(f"/api/runs/{ids['ok']}/history").json() if s["name"] == "loss"]
    assert loss and len(loss[0]["steps"]) >= 1

    running = _wait(client, ids["long"], lambda r: r["status"] == "running" and r["progress"] > 0, 60, worker)
    assert running["worker_host"]
    requested = time.monotonic()
    assert client.post(f"/api/runs/{ids['long']}/cancel").status_code == 200
    cancelled = _wait(client, ids["long"], _finished, 30, worker)
    assert cancelled["status"] == "cancelled"
    assert time.monotonic() - requested < 10
    assert cancelled["progress"] < 1

    bad = _wait(client, ids["bad"], _finished, 60, worker)
    assert bad["status"] == "failed"
    assert "nonexistent-model-xyz" in bad["error_message"]
    assert bad["traceback"] and "Traceback" in bad["traceback"]

    after = _wait(client, ids["after"], _finished, 120, worker)
    assert after["status"] == "succeeded", after["error_message"]

    # A 2×2×2 sweep (STS-B stage × robust method × seed), all 8 trained for real by the worker, is one
    # experiment; compare groups the runs that differ only in seed: 4 groups, mean ± std over 2 seeds.
    sts = {"task": "stsb", "epochs": 1, "batch_size": 16, "max_examples": 32}
    grid = {"intermediate": [None, sts], "robust.method": ["none", "rs_rp"], "train.seed": [1, 2]}
    sweep = client.post("/api/sweeps", json={"name": "2x2x2", "base": _config(tiny_model), "grid": grid})
    assert sweep.status_code == 201, sweep.text
    run_ids = sweep.json()["run_ids"]
    assert len(run_ids) == 8
    for run_id in run_ids:
        assert _wait(client, run_id, _finished, 120, worker)["status"] == "succeeded"
    experiment = client.get(f"/api/experiments/{sweep.json()['experiment_id']}").json()
    assert experiment["run_count"] == 8
    result = client.get(
        "/api/compare", params={"experiment": sweep.json()["experiment_id"], "baseline": f"run:{run_ids[0]}"}
    ).json()
    assert len(result["groups"]) == 4
    assert all(sorted(group["seeds"]) == [1, 2] for group in result["groups"])
    assert result["languages"] == LANGS
    assert all(cell["n"] == 2 and cell["std"] >= 0 for cell in result["cells"])
    others = [cell for cell in result["cells"] if cell["group"] != result["baseline"]]
    assert len(others) == 3 * len(LANGS) and all(cell["delta"] is not None for cell in others)
