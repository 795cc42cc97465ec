"""The same API on PostgreSQL + Redis: submit, rejection enqueues nothing, sweep + compare over seeds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from backend import store
from backend.queue import queue_depth
from backend.settings import Settings
from tests.factories import fake_result, tiny_config

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def pg_client(pg_redis_settings: Settings) -> Iterator[TestClient]:
    from backend.app import create_app

    with TestClient(create_app()) as c:
        yield c


def test_submit_reject_and_compare_a_sweep_on_postgres_and_redis(
    pg_client: TestClient, pg_redis_settings: Settings
) -> None:
    settings = pg_redis_settings
    assert pg_client.get("/healthz").json() == {"status": "ok", "database": "ok", "broker": "ok"}
    created = pg_client.post("/api/runs", json=tiny_config())
    assert created.status_code == 201 and created.json()["queue"] == settings.cpu_queue
    assert queue_depth(settings.cpu_queue) == 1

    rejected = pg_client.post("/api/runs", json=tiny_config(train={"batch_size": 0}))
    assert rejected.status_code == 422 and "train.batch_size" in rejected.json()["message"]
    assert queue_depth(settings.cpu_queue) == 1 and pg_client.get("/api/runs").json()["total"] == 1

    grid = {"intermediate": [None, {"task": "stsb"}], "robust.method": ["none", "adv"], "train.seed": [1, 2]}
    sweep = pg_client.post("/api/sweeps", json={"base": tiny_config(), "grid": grid}).json()
    assert len(sweep["run_ids"]) == 8 and queue_depth(settings.cpu_queue) == 9
    for run_id in sweep["run_ids"]:
        run = pg_client.get(f"/api/runs/{run_id}").json()
        store.claim_run(run_id, "test", None)
        store.complete_run(run_id, fake_result(run["config"], {"en": 0.8, "de": 0.5 + run["seed"] / 10}))
    result = pg_client.get("/api/compare", params={"experiment": sweep["experiment_id"]}).json()
    assert len(result["groups"]) == 4
    de = [c for c in result["cells"] if c["language"] == "de"]
    assert all(
        c["n"] == 2 and c["mean"] == pytest.approx(0.65) and c["std"] == pytest.approx(0.0707, abs=1e-4)
        for c in de
    )
    listed = pg_client.get(
        "/api/runs", params={"experiment": sweep["experiment_id"], "sort": "-average"}
    ).json()
    assert listed["total"] == 8 and listed["items"][0]["average"] == pytest.approx((0.8 + 0.7) / 2)
