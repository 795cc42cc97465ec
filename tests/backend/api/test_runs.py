"""/api/runs on the embedded stack (SQLite + SQLite broker), no worker: what is stored and queued."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from backend.queue import queue_depth
from backend.settings import Settings
from tests.factories import tiny_config


def _depth(settings: Settings) -> int:
    return queue_depth(settings.gpu_queue) + queue_depth(settings.cpu_queue)


def test_submit_returns_201_with_id_and_queues_by_device(
    client: TestClient, embedded_settings: Settings
) -> None:
    cpu = client.post("/api/runs", json=tiny_config())
    gpu = client.post("/api/runs", json=tiny_config(train={"device": "auto"}))
    assert cpu.status_code == 201 and gpu.status_code == 201
    assert cpu.json()["queue"] == "cpu" and gpu.json()["queue"] == "gpu"
    assert queue_depth("cpu") == 1 and queue_depth("gpu") == 1
    run = client.get(f"/api/runs/{cpu.json()['id']}").json()
    assert (
        run["status"] == "queued"
        and run["method"] == "baseline"
        and run["config"]["train"]["batch_size"] == 32
    )


def test_local_data_without_dir_uses_the_server_data_dir(
    client: TestClient, embedded_settings: Settings
) -> None:
    created = client.post("/api/runs", json=tiny_config(data={"source": "local"})).json()
    assert (
        client.get(f"/api/runs/{created['id']}").json()["config"]["data"]["dir"] == embedded_settings.data_dir
    )


@pytest.mark.parametrize(
    ("config", "field"),
    [
        (tiny_config(train={"learning_rate": -1}), "train.learning_rate"),
        (tiny_config(robust={"method": "magic"}), "robust.method"),
        (tiny_config(train={"epochz": 3}), "train.epochz"),
        ({"model": "x"}, "task"),
        (tiny_config(eval={"languages": ["xx"]}), "eval.languages"),
    ],
)
def test_invalid_config_is_422_naming_the_field_and_nothing_is_queued(
    client: TestClient, embedded_settings: Settings, config: dict, field: str
) -> None:
    response = client.post("/api/runs", json=config)
    assert response.status_code == 422
    assert field in response.json()["message"]
    assert client.get("/api/runs").json()["total"] == 0
    assert _depth(embedded_settings) == 0


def test_unknown_run_is_404_everywhere(client: TestClient) -> None:
    for method, path in [
        ("get", "/api/runs/999"),
        ("get", "/api/runs/999/scores"),
        ("get", "/api/runs/999/history"),
        ("post", "/api/runs/999/cancel"),
        ("post", "/api/runs/999/retry"),
        ("get", "/api/experiments/999"),
        ("get", "/api/compare?runs=999"),
    ]:
        response = getattr(client, method)(path)
        assert response.status_code == 404, path
        assert "not found" in response.json()["message"]


def test_list_runs_filters_and_rejects_unknown_sort(client: TestClient) -> None:
    for seed in (1, 2, 3):
        client.post(
            "/api/runs", json=tiny_config(train={"device": "cpu", "seed": seed}), params={"tag": "ablation"}
        )
    client.post("/api/runs", json=tiny_config(task="pawsx", eval={"languages": ["de"]}))
    page = client.get("/api/runs", params={"task": "xnli", "sort": "seed", "page_size": 2}).json()
    assert page["total"] == 3 and [r["seed"] for r in page["items"]] == [1, 2]
    assert client.get("/api/runs", params={"tag": "ablation"}).json()["total"] == 3
    assert client.get("/api/runs", params={"status": "queued,running"}).json()["total"] == 4
    bad = client.get("/api/runs", params={"sort": "nope"})
    assert bad.status_code == 422 and "sort" in bad.json()["message"]


def test_cancel_and_retry(client: TestClient, embedded_settings: Settings) -> None:
    run_id = client.post("/api/runs", json=tiny_config(), params={"tag": "x"}).json()["id"]
    cancelled = client.post(f"/api/runs/{run_id}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert client.post(f"/api/runs/{run_id}/cancel").status_code == 409
    retried = client.post(f"/api/runs/{run_id}/retry")
    assert retried.status_code == 201
    new = client.get(f"/api/runs/{retried.json()['id']}").json()
    old = client.get(f"/api/runs/{run_id}").json()
    assert new["config"] == old["config"] and new["tags"] == ["x"] and new["status"] == "queued"
    assert _depth(embedded_settings) == 2
