"""The FastAPI app as a whole: it stays light (no torch), and errors answer in the caller's language."""

from __future__ import annotations

import subprocess
import sys

from fastapi.testclient import TestClient

from tests.factories import REPO, xlt_environment


def test_importing_the_backend_does_not_import_torch() -> None:
    code = (
        "import sys, backend.app, backend.store, backend.queue; backend.app.create_app();"
        " print('torch' in sys.modules)"
    )
    with xlt_environment():
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
        )
    assert out.stdout.strip() == "False"


def test_errors_are_json_for_the_api_and_html_pages_for_pages_with_the_same_status(
    client: TestClient,
) -> None:
    for path, status in [("/api/runs/999", 404), ("/api/compare?runs=1,x", 422), ("/api/nowhere", 404)]:
        response = client.get(path)
        assert response.status_code == status, path
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["message"]
    for path, status in [
        ("/runs/999", 404),
        ("/compare?runs=1,x", 422),
        ("/nowhere", 404),
        ("/launch?from=x", 422),
    ]:
        response = client.get(path)
        assert response.status_code == status, path
        assert response.headers["content-type"].startswith("text/html")
        assert 'id="error"' in response.text and 'href="/launch"' in response.text  # the dashboard's page
    feed = client.get("/runs/999/live.json")
    assert feed.status_code == 404 and feed.json()["message"] == "run 999 not found"
