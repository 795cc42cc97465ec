"""/api/sweeps and /api/compare on the embedded stack: a grid is one experiment, compared over seeds."""

from __future__ import annotations

import statistics

import pytest
from fastapi.testclient import TestClient

from backend import store
from backend.queue import queue_depth
from backend.settings import Settings
from tests.factories import fake_result, tiny_config


def _depth(settings: Settings) -> int:
    return queue_depth(settings.gpu_queue) + queue_depth(settings.cpu_queue)


def test_invalid_sweep_is_422_and_creates_nothing(client: TestClient, embedded_settings: Settings) -> None:
    body = {"base": tiny_config(), "grid": {"train.seed": [1, 2], "robust.method": ["none", "bogus"]}}
    response = client.post("/api/sweeps", json=body)
    assert response.status_code == 422
    assert "robust.method" in response.json()["message"]
    assert client.get("/api/experiments").json() == []
    assert client.get("/api/runs").json()["total"] == 0
    assert _depth(embedded_settings) == 0


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

    # the same groups named by filters, in one request: the runs list's filters as query strings
    matched = client.get(
        "/api/compare",
        params={
            "match": [f"experiment={experiment_id}&method={m}" for m in ("baseline", "stsb+rs_rp")],
            "baseline": f"run:{baseline_run['id']}",
        },
    )
    assert matched.status_code == 200, matched.text
    matched = matched.json()
    assert [g["key"] for g in matched["groups"]] == [
        g["key"] for g in result["groups"] if g["key"].split(" · ")[2] in ("baseline", "stsb+rs_rp")
    ]
    assert {(c["group"], c["language"]): c["mean"] for c in matched["cells"]} == {
        (c["group"], c["language"]): c["mean"]
        for c in result["cells"]
        if c["group"].split(" · ")[2] in ("baseline", "stsb+rs_rp")
    }


@pytest.mark.parametrize(
    ("match", "status", "message"),
    [
        ("model=m&colour=red", 422, "match 1: colour: not a filter"),
        ("method=baseline&method=stsb", 422, "match 1: 'method' given twice"),
        ("status=succeeded", 422, "match 1: give at least one of"),
        ("seed=-1", 422, "match 1: seed: Input should be greater than or equal to 0"),
        ("method=" + "x" * 65, 422, "match 1: method: String should have at most 64 characters"),
        ("method=nothing-like-this", 404, "match 1: no runs match"),
    ],
)
def test_a_bad_match_names_the_group_and_the_problem(
    client: TestClient, match: str, status: int, message: str
) -> None:
    response = client.get("/api/compare", params={"match": match})
    assert response.status_code == status
    assert message in response.json()["message"]
