"""/healthz and the OpenAPI schema."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_healthz_checks_database_and_broker(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_healthz_is_503_naming_an_unreachable_broker(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from backend.app import create_app
    from backend.migrate import upgrade
    from tests.factories import xlt_environment

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


def test_api_pages_and_health_answer_503_while_the_database_is_down(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from backend.app import create_app
    from tests.factories import xlt_environment

    with xlt_environment(home=str(tmp_path), database_url="postgresql+psycopg://xlt@127.0.0.1:1/none"):
        client = TestClient(create_app())
        api = client.get("/api/runs")
        page = client.get("/runs/1")
        health = client.get("/healthz")
    assert api.status_code == 503 and api.json()["message"].startswith("database unavailable: ")
    assert "127.0.0.1" in api.json()["message"]
    assert page.status_code == 503 and "text/html" in page.headers["content-type"]
    assert "database unavailable" in page.text
    assert health.status_code == 503 and health.json()["database"].startswith("error")
