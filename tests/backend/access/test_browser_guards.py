"""Browser-side defences in every mode (these run with accounts off, as the embedded start does):
cross-site posts refused, foreign Host headers refused, security headers on every response."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from starlette.datastructures import Headers

from backend import store
from backend.access.browser import host_allowed, is_foreign
from backend.settings import Settings
from tests.factories import Account, fake_result, tiny_config, xlt_environment

EVIL = "https://evil.example"


def _launch_form() -> dict[str, object]:
    return {"task": "xnli", "model": "m", "eval.languages": ["en", "de"], "seeds": "1", "train.device": "cpu"}


def test_a_cross_site_form_post_to_launch_creates_no_run(client: TestClient) -> None:
    for headers in ({"Origin": EVIL}, {"Referer": f"{EVIL}/page"}, {"Origin": "null"}):
        response = client.post("/launch", data=_launch_form(), headers=headers, follow_redirects=False)
        assert response.status_code == 403, headers
        assert "Cross-site request refused" in response.json()["message"]
    assert store.list_runs().total == 0
    same_site = client.post(
        "/launch", data=_launch_form(), headers={"Origin": "http://testserver"}, follow_redirects=False
    )
    assert same_site.status_code == 303 and store.list_runs().total == 1


def test_a_cross_site_api_call_is_refused_but_scripts_without_origin_pass(client: TestClient) -> None:
    refused = client.post("/api/runs", json=tiny_config(), headers={"Origin": EVIL})
    assert refused.status_code == 403 and refused.json()["message"]
    assert (
        client.delete("/api/share-links/x", headers={"Origin": "http://testserver.evil.example"}).status_code
        == 403
    )
    assert store.list_runs().total == 0
    assert client.post("/api/runs", json=tiny_config()).status_code == 201  # curl, scripts: no Origin
    assert client.get("/api/runs", headers={"Origin": EVIL}).status_code == 200  # reads are not guarded


def test_cross_site_posts_are_refused_with_accounts_on_too(
    auth_client: TestClient, accounts: dict[str, Account]
) -> None:
    alice = accounts["alice"]
    auth_client.post("/login", data={"name": "alice", "password": alice.password})
    refused = auth_client.post("/launch", data=_launch_form(), headers={"Origin": EVIL})
    assert refused.status_code == 403 and store.list_runs().total == 0
    assert auth_client.post("/logout", headers={"Origin": EVIL}).status_code == 403


def test_a_host_header_outside_the_allowed_hosts_is_a_400_json(client: TestClient) -> None:
    response = client.get("/api/runs", headers={"Host": "attacker.example"})
    assert response.status_code == 400
    assert response.json()["message"].startswith("Host 'attacker.example' is not served here")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert client.get("/", headers={"Host": "localhost:8000"}).status_code == 200


def test_the_default_allowed_hosts_are_the_bound_host_and_loopback(tmp_path: object) -> None:
    with xlt_environment(allowed_hosts="") as settings:
        assert settings.allowed_host_names == ["127.0.0.1", "localhost", "[::1]", "::1"]
    with xlt_environment(allowed_hosts="", host="10.0.0.5") as settings:
        assert settings.allowed_host_names[0] == "10.0.0.5" and "localhost" in settings.allowed_host_names
    allowed = ["lab.example.org", "*.corp.example", "127.0.0.1", "[::1]"]
    for host, ok in [
        ("lab.example.org:443", True),
        ("LAB.example.org", True),
        ("gpu.corp.example", True),
        ("corp.example.evil", False),
        ("127.0.0.1:8000", True),
        ("[::1]:8000", True),
        ("127.0.0.1.nip.io", False),
        ("", False),
    ]:
        assert host_allowed(host, allowed) is ok, host
    assert host_allowed("anything", ["*"])


@pytest.mark.parametrize(
    ("headers", "foreign"),
    [
        ({"host": "lab:8000", "origin": "http://lab:8000"}, False),
        ({"host": "lab", "origin": "https://lab"}, False),  # TLS proxy that does not forward the scheme
        ({"host": "lab", "origin": "https://lab:443"}, False),
        ({"host": "lab:8000", "origin": "http://lab:8001"}, True),
        ({"host": "lab", "origin": "https://lab.evil"}, True),
        ({"host": "lab", "referer": "http://lab/runs/1"}, False),
        ({"host": "lab", "referer": "http://user@evil/"}, True),
        ({"host": "lab", "origin": "chrome-extension://abc"}, True),
        ({"host": "lab"}, False),
    ],
)
def test_same_origin_compares_host_and_port(headers: dict[str, str], foreign: bool) -> None:
    assert is_foreign(Headers(headers)) is foreign


def test_every_response_carries_the_security_headers(client: TestClient, embedded_settings: Settings) -> None:
    run_id = store.import_result(fake_result(tiny_config(), {"en": 0.8}))
    token = client.post("/shares", data={"kind": "run", "run_id": str(run_id)}, follow_redirects=False)
    link = token.headers["location"].split("created=")[1]
    for path in [
        "/",
        f"/runs/{run_id}",
        "/api/runs",
        "/static/css/app.css",
        "/assets/plotly.min.js",
        "/nowhere",
    ]:
        response = client.get(path)
        csp = response.headers["content-security-policy"]
        for directive in (
            "default-src 'self'",
            "script-src 'self';",
            "frame-ancestors 'none'",
            "object-src 'none'",
        ):
            assert directive in csp, (path, directive)
        assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["x-frame-options"] == "DENY", path
        assert response.headers["referrer-policy"] == "same-origin", path
    shared = client.get(f"/s/{link}")
    assert shared.status_code == 200 and shared.headers["referrer-policy"] == "no-referrer"
    assert client.get(f"/s/{link}/export.csv").headers["referrer-policy"] == "no-referrer"


def test_templates_have_no_inline_scripts_or_event_handlers() -> None:
    import re
    from pathlib import Path

    templates = Path(__file__).resolve().parents[3] / "frontend" / "templates"
    for path in templates.glob("*.html"):
        text = path.read_text()
        assert not re.search(r"\son[a-z]+\s*=", text), f"{path.name}: inline event handler"
        for tag in re.findall(r"<script[^>]*>", text):
            assert "src=" in tag or 'type="application/json"' in tag, f"{path.name}: inline script {tag}"
