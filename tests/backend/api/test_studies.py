"""/api/studies and /api/experiments/{id}/report: one submit makes the whole study; the report of its
stored runs finds the effect that was planted, and only it."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from backend import store
from backend.queue import queue_depth
from backend.services.studies import PAPER_METHODS
from backend.settings import Settings
from tests.factories import PLANTED, Account, make_study_runs, study_result, tiny_config


def _depth(settings: Settings) -> int:
    return queue_depth(settings.gpu_queue) + queue_depth(settings.cpu_queue)


def _runs(client: TestClient, experiment_id: int) -> list[dict[str, Any]]:
    return client.get("/api/runs", params={"experiment": experiment_id, "page_size": 500}).json()["items"]


def test_a_study_of_the_paper_grid_is_one_experiment_with_every_method_and_seed(
    client: TestClient, embedded_settings: Settings
) -> None:
    created = client.post("/api/studies", json={"name": "grid", "base": tiny_config()})
    assert created.status_code == 201, created.text
    body = created.json()
    assert len(body["run_ids"]) == 8 * 3 and _depth(embedded_settings) == 24
    experiment = client.get(f"/api/experiments/{body['experiment_id']}").json()
    assert experiment["kind"] == "study" and experiment["run_count"] == 24
    assert experiment["spec"]["methods"] == list(PAPER_METHODS) and experiment["spec"]["seeds"] == [1, 2, 3]
    runs = _runs(client, body["experiment_id"])
    assert {(r["method"], r["seed"]) for r in runs} == {(m, s) for m in PAPER_METHODS for s in (1, 2, 3)}
    by_method = {r["method"]: r["config"] for r in runs}
    assert by_method["stsb+rs_rp"]["intermediate"]["task"] == "stsb"
    assert by_method["stsb+rs_rp"]["robust"]["method"] == "rs_rp"
    assert by_method["adv"]["intermediate"] is None and by_method["baseline"]["robust"]["method"] == "none"
    assert by_method["adv"]["eval"]["languages"] == ["en", "de", "sw", "th"]  # the rest of the base kept


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"methods": ["baseline", "rs_xx"]}, "methods: unknown method 'rs_xx'"),
        ({"methods": ["rs_rp", "stsb"]}, "methods: a study compares every method with 'baseline'"),
        ({"methods": ["baseline", "rs_rp", "rs_rp"]}, "methods: rs_rp given more than once"),
        ({"seeds": []}, "seeds: give at least one seed"),
        ({"seeds": [1, 1]}, "seeds: 1 given more than once"),
        ({"seeds": [-1]}, "seeds: -1 is not a seed"),
        ({"seeds": ["one"]}, "seeds.0"),
        ({"base": tiny_config(train={"batch_size": 0})}, "base.train.batch_size"),
        ({"base": {"task": "xnli"}}, "base.model"),
        ({"grid": {}}, "grid"),
    ],
)
def test_invalid_studies_are_422_naming_the_field_and_store_nothing(
    client: TestClient, embedded_settings: Settings, body: dict[str, Any], field: str
) -> None:
    response = client.post("/api/studies", json={"base": tiny_config()} | body)
    assert response.status_code == 422
    assert field in response.json()["message"]
    assert client.get("/api/experiments").json() == []
    assert _depth(embedded_settings) == 0


def test_report_of_stored_runs_finds_the_planted_low_resource_effect_and_only_it(
    client: TestClient, embedded_settings: Settings
) -> None:
    """rs_rp gains 3 points on sw and AmericasNLI's languages; stsb changes nothing; one rs_rp run
    did not learn and is excluded, listed and counted."""
    base = tiny_config(eval={"extra": ["americasnli"]})
    created = client.post(
        "/api/studies",
        json={
            "name": "planted",
            "base": base,
            "methods": ["baseline", "rs_rp", "stsb"],
            "seeds": [1, 2, 3, 4, 5, 6],
        },
    ).json()
    experiment_id = created["experiment_id"]
    assert client.get(f"/api/experiments/{experiment_id}/report").status_code == 409  # nothing finished yet

    constructed = {(r.method, r.seed): r for r in make_study_runs(PLANTED, range(1, 7))}
    stuck_id = None
    for run in _runs(client, experiment_id):
        stuck = (run["method"], run["seed"]) == ("rs_rp", 6)
        warnings = ["the task stage did not learn: its training loss stayed at ln(3)"] if stuck else []
        result = study_result(constructed[(run["method"], run["seed"])], run["config"], warnings)
        if run["seed"] == 5 and run["method"] == "stsb":
            continue  # still queued: counted in a note, not in the statistics
        claim = store.claim_run(run["id"], "test", None)
        assert claim is not None
        store.complete_run(run["id"], result, attempt=claim.attempt)
        stuck_id = run["id"] if stuck else stuck_id

    response = client.get(f"/api/experiments/{experiment_id}/report")
    assert response.status_code == 200, response.text
    report = response.json()
    verdicts = {(v["method"], v["aggregate"]): v for v in report["verdicts"]}
    assert verdicts[("rs_rp", "low")]["label"] == "improves"
    assert verdicts[("rs_rp", "low")]["item_label"] == "improves"
    assert verdicts[("rs_rp", "mid")]["label"] == "no detectable change"
    assert verdicts[("rs_rp", "high")]["label"] == "no detectable change"
    assert {verdicts[("stsb", a)]["label"] for a in ("low", "mid", "high", "transfer_gap")} == {
        "no detectable change"
    }
    assert [(e["run_id"], e["reason"][:14]) for e in report["excluded"]] == [(stuck_id, "did not learn:")]
    assert report["seeds"] == {
        "baseline": [1, 2, 3, 4, 5, 6],
        "rs_rp": [1, 2, 3, 4, 5],
        "stsb": [1, 2, 3, 4, 6],
    }
    assert "'stuck_at_chance'" in report["rules"][0]
    assert report["notes"][0].startswith("1 run(s) still queued or running")
    low = next(a for a in report["aggregates"] if a["method"] == "rs_rp" and a["aggregate"] == "low")
    assert low["estimate"]["ci_low"] <= 0.03 <= low["estimate"]["ci_high"]
    assert "xnli/en" not in low["cells"] and "americasnli/aym" in low["cells"]  # source never in a tier
    assert client.get(f"/api/experiments/{experiment_id}/report").json() == report  # cached, same answer


def test_report_of_an_unknown_experiment_is_404(client: TestClient) -> None:
    assert client.get("/api/experiments/99/report").status_code == 404


def test_members_launch_studies_viewers_read_their_reports(
    auth_client: TestClient, accounts: dict[str, Account]
) -> None:
    vera, alice = accounts["vera"], accounts["alice"]
    body = {"base": tiny_config(), "methods": ["baseline", "rs_rp"], "seeds": [1]}
    assert auth_client.post("/api/studies", json=body, headers=vera.headers).status_code == 403
    assert auth_client.post("/api/studies", json=body).status_code == 401
    created = auth_client.post("/api/studies", json=body, headers=alice.headers)
    assert created.status_code == 201
    experiment_id = created.json()["experiment_id"]
    constructed = make_study_runs({"baseline": {}}, [1])[0]
    for run in store.get_runs(created.json()["run_ids"]):
        store.complete_run(run.id, study_result(constructed, run.config))
    report = auth_client.get(f"/api/experiments/{experiment_id}/report", headers=vera.headers)
    assert report.status_code == 200
    assert report.json()["verdicts"][0]["label"] == "inconclusive"  # one seed


def test_a_sweep_has_no_report_its_runs_may_differ_in_more_than_the_method(client: TestClient) -> None:
    body = {"base": tiny_config(), "grid": {"robust.sigma": [0.01, 0.1], "robust.method": ["rs_rp"]}}
    experiment_id = client.post("/api/sweeps", json=body).json()["experiment_id"]
    response = client.get(f"/api/experiments/{experiment_id}/report")
    assert response.status_code == 409 and "is a sweep, not a study" in response.json()["message"]
    page = client.get(f"/experiments/{experiment_id}").text
    assert 'id="study-grid"' in page and f"/compare?experiment={experiment_id}" in page
