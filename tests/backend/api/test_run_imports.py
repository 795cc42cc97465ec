"""POST /api/runs/import: one finished run from a results.json, over HTTP (member role)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from backend.settings import Settings
from tests.factories import Account, fake_result, tiny_config

ACCURACY = {"en": 0.8, "de": 0.7, "sw": 0.5, "th": 0.6}


def _document(**config: object) -> str:
    return fake_result(tiny_config(**config), ACCURACY, history_steps=20).model_dump_json()


def test_imported_run_is_finished_with_scores_history_and_average(
    client: TestClient, embedded_settings: Settings
) -> None:
    response = client.post("/api/runs/import?tag=paper&experiment=earlier", content=_document())
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == "succeeded" and created["experiment_id"] is not None
    run = client.get(f"/api/runs/{created['id']}").json()
    assert run["status"] == "succeeded" and run["tags"] == ["imported", "paper"]
    assert abs(run["average"] - sum(ACCURACY.values()) / 4) < 1e-9
    scores = {s["language"]: s["value"] for s in client.get(f"/api/runs/{created['id']}/scores").json()}
    assert scores == ACCURACY
    (loss,) = client.get(f"/api/runs/{created['id']}/history?name=loss").json()
    assert len(loss["steps"]) == 20


def test_a_document_that_is_no_finished_run_is_422_and_nothing_is_stored(
    client: TestClient, embedded_settings: Settings
) -> None:
    bad_language = _document(eval={"languages": ["en"]}).replace('"de"', '"xx"')
    for body in ("{not json", '{"scores": []}', bad_language):
        response = client.post("/api/runs/import", content=body)
        assert response.status_code == 422, body
    assert "xx" in response.json()["message"]
    assert client.get("/api/runs").json()["total"] == 0


def test_import_needs_the_member_role_and_records_the_importer(
    auth_client: TestClient, accounts: dict[str, Account]
) -> None:
    vera, alice = accounts["vera"], accounts["alice"]
    assert auth_client.post("/api/runs/import", content=_document()).status_code == 401
    assert auth_client.post("/api/runs/import", content=_document(), headers=vera.headers).status_code == 403
    created = auth_client.post("/api/runs/import", content=_document(), headers=alice.headers)
    assert created.status_code == 201
    run = auth_client.get(f"/api/runs/{created.json()['id']}", headers=alice.headers).json()
    assert run["owner"] == "alice"
