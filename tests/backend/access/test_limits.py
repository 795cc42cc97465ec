"""Request limits on the real app: XLT_MAX_BODY_BYTES (413 with a JSON message, whether the client
says its length or streams the body) and no NUL in a path or query string (400)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.factories import embedded, tiny_config

LIMIT = 4096


@pytest.fixture
def small_client(tmp_path: Path) -> Iterator[TestClient]:
    from backend.app import create_app

    with embedded(tmp_path / "xlt", max_body_bytes=str(LIMIT)), TestClient(create_app()) as client:
        yield client


def test_a_body_over_the_limit_is_413_with_a_json_message_and_stores_nothing(
    small_client: TestClient,
) -> None:
    config = tiny_config(name="n" * 100) | {"padding": "x" * LIMIT}
    response = small_client.post("/api/runs", json=config)
    assert response.status_code == 413
    assert (
        response.json()["message"] == f"Request body too large: at most {LIMIT:,} bytes (XLT_MAX_BODY_BYTES)"
    )
    assert small_client.get("/api/runs").json()["total"] == 0
    assert small_client.post("/api/runs", json=tiny_config()).status_code == 201  # under the limit: as ever


def test_a_streamed_body_without_length_is_cut_off_at_the_limit(small_client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"task": "xnli", "model": "m", "name": "'
        for _ in range(10):
            yield b"x" * 1024
        yield b'"}'

    response = small_client.post("/api/runs", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "XLT_MAX_BODY_BYTES" in response.json()["message"]
    assert small_client.get("/api/runs").json()["total"] == 0


def test_a_form_post_over_the_limit_is_413(small_client: TestClient) -> None:
    response = small_client.post("/launch", data={"task": "xnli", "model": "m" * (2 * LIMIT)})
    assert response.status_code == 413
    assert small_client.get("/api/runs").json()["total"] == 0


def test_nul_in_a_path_or_query_string_is_400_before_any_route(small_client: TestClient) -> None:
    for path in ("/api/runs?q=%00", "/api/runs?model=a%00", "/s/abc%00def", "/runs/1%00"):
        response = small_client.get(path)
        assert response.status_code == 400, path
        assert "NUL" in response.json()["message"]
