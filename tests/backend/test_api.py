"""The JSON API on the embedded stack (SQLite + SQLite broker), no worker: what is stored and queued."""

from __future__ import annotations

import statistics

import pytest
from fastapi.testclient import TestClient

from backend import store
from backend.queue import queue_depth
from backend.settings import Settings
from tests.backend.results_factory import fake_result, tiny_config


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


def test_invalid_sweep_is_422_and_creates_nothing(client: TestClient, embedded_settings: Settings) -> None:
    body = {"base": tiny_config(), "grid": {"train.seed": [1, 2], "robust.method": ["none", "bogus"]}}
    response = client.post("/api/sweeps", json=body)
    assert response.status_code == 422
    assert "robust.method" in response.json()["message"]
    assert client.get("/api/experiments").json() == []
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


def test_sweep_2x2x2_makes_8_runs_in_one_experiment_and_compare_gives_mean_std_over_seeds(
    client: TestClient, embedded_settings: Settings
) -> None:
    body = {
        "name": "stsb x robust x seed",
        "base": tiny_config(),
        "grid": {
            "intermediate": [None, {"task": "stsb"}],
            "robust.method": ["none", "rs_rp"],
            "train.seed": [1, 2],
        },
    }
    created = client.post("/api/sweeps", json=body)
    assert created.status_code == 201
    experiment_id, run_ids = created.json()["experiment_id"], created.json()["run_ids"]
    assert len(run_ids) == 8 and _depth(embedded_settings) == 8
    listed = client.get("/api/runs", params={"experiment": experiment_id, "page_size": 100}).json()
    assert listed["total"] == 8
    assert {r["method"] for r in listed["items"]} == {"baseline", "rs_rp", "stsb", "stsb+rs_rp"}
    experiments = client.get("/api/experiments").json()
    assert [(e["id"], e["run_count"]) for e in experiments] == [(experiment_id, 8)]

    # Seeded results instead of eight trainings (tests/worker trains through the real worker).
    expected: dict[str, dict[str, list[float]]] = {}
    for run_id in run_ids:
        run = client.get(f"/api/runs/{run_id}").json()
        bump = {"baseline": 0.0, "rs_rp": 0.02, "stsb": 0.03, "stsb+rs_rp": 0.05}[run["method"]]
        acc = {
            lang: 0.4 + bump + 0.01 * run["seed"] + i / 100 for i, lang in enumerate(["en", "de", "sw", "th"])
        }
        store.claim_run(run_id, "test", None)
        store.complete_run(run_id, fake_result(run["config"], acc))
        for lang, value in acc.items():
            expected.setdefault(run["method"], {}).setdefault(lang, []).append(value)

    baseline_run = next(r for r in listed["items"] if r["method"] == "baseline")
    response = client.get(
        "/api/compare", params={"experiment": experiment_id, "baseline": f"run:{baseline_run['id']}"}
    )
    assert response.status_code == 200
    result = response.json()
    assert len(result["groups"]) == 4
    assert all(sorted(g["seeds"]) == [1, 2] for g in result["groups"])
    assert result["languages"] == ["en", "de", "sw", "th"]
    assert result["baseline"] is not None and "baseline" in result["baseline"]
    for cell in result["cells"]:
        method = cell["group"].split(" · ")[2]
        values = expected[method][cell["language"]]
        assert cell["n"] == 2
        assert cell["mean"] == pytest.approx(statistics.mean(values))
        assert cell["std"] == pytest.approx(statistics.stdev(values))
        assert cell["delta"] == pytest.approx(
            statistics.mean(values) - statistics.mean(expected["baseline"][cell["language"]])
        )
    tiers = result["tier_averages"][result["baseline"]]
    assert tiers["low"] == pytest.approx(statistics.mean(expected["baseline"]["sw"]))
    assert tiers["mid"] == pytest.approx(statistics.mean(expected["baseline"]["th"]))

    by_ids = client.get("/api/compare", params={"runs": ",".join(map(str, run_ids[:4]))}).json()
    assert len(by_ids["groups"]) == 2 and by_ids["baseline"] is None


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


def test_healthz_checks_database_and_broker(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_healthz_is_503_naming_an_unreachable_broker(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from backend.app import create_app
    from backend.migrate import upgrade
    from tests.backend.services import xlt_environment

    with xlt_environment(home=str(tmp_path), broker_url="redis://127.0.0.1:1/0"):
        upgrade()
        response = TestClient(create_app()).get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "ok" and "broker" in response.json()["message"]


def test_openapi_lists_the_api(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in [
        "/api/runs",
        "/api/sweeps",
        "/api/runs/{run_id}/history",
        "/api/compare",
        "/api/experiments",
    ]:
        assert path in paths
