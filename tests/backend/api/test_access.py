"""Access with accounts on (XLT_AUTH=on): deny by default, tokens, roles, owners.

The route walk asks every route of the real app, with every method it declares, without
credentials: only the public list may answer anything but 401 JSON (API) or a redirect to /login.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.convertors import IntegerConvertor
from starlette.routing import BaseRoute, Mount, compile_path

from backend import store
from backend.services import accounts as account_service
from tests.factories import Account, fake_result, tiny_config

PUBLIC = {
    "/login",
    "/logout",
    "/healthz",
    "/assets/plotly.min.js",
    "/s/{token}",
    "/s/{token}/export.{fmt}",
    "/static",
}


def _dummy_path(path: str) -> str:
    """Path parameters filled with values of their type: ints 1, formats csv, anything else 'x1'."""
    for name, convertor in compile_path(path)[2].items():
        value = "1" if isinstance(convertor, IntegerConvertor) else "csv" if name == "fmt" else "x1"
        path = path.replace(f"{{{name}}}", value).replace(f"{{{name}:{type(convertor).__name__}}}", value)
    return path


def _routes(app: Any) -> Iterator[tuple[str, BaseRoute]]:
    """(path, route) of every route, also those inside included routers (FastAPI resolves them lazily)."""
    for route in app.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:
            for context in contexts():
                yield context.path, context.original_route
        else:
            yield getattr(route, "path", ""), route


def _requests(app: Any) -> list[tuple[str, str, str]]:
    """(route path, method, concrete path) for every route and method of the app."""
    out = []
    for path, route in _routes(app):
        if isinstance(route, Mount):
            out.append((path, "GET", f"{path}/css/app.css"))
            continue
        for method in sorted((getattr(route, "methods", None) or {"GET"}) - {"HEAD", "OPTIONS"}):
            out.append((path, method, _dummy_path(path)))
    return out


def test_every_route_needs_credentials_except_the_public_list(auth_client: TestClient) -> None:
    walked = _requests(auth_client.app)
    assert len(walked) >= 35  # the whole app, not a few routes
    assert {path for path, _, _ in walked} >= PUBLIC | {"/docs", "/openapi.json", "/api/runs", "/"}
    for route, method, path in walked:
        response = auth_client.request(method, path)
        what = f"{method} {path} ({route}) → {response.status_code}"
        if route in PUBLIC:  # answered by the route itself (POST /login without a password is its own 401)
            assert "www-authenticate" not in response.headers, what
            assert not response.headers.get("location", "").startswith("/login?next"), what
        elif path.startswith("/api/") or path.endswith(".json"):
            assert response.status_code == 401, what
            assert response.headers["www-authenticate"] == "Bearer", what
            assert response.json()["message"], what
        else:
            assert response.status_code == 303, what
            assert response.headers["location"].startswith("/login"), what
    # deny by default also covers paths no route knows
    assert auth_client.get("/nowhere").headers["location"] == "/login?next=%2Fnowhere"
    assert auth_client.get("/api/nowhere").status_code == 401


def test_a_page_redirects_to_login_and_comes_back_after_it(auth_client: TestClient) -> None:
    response = auth_client.get("/compare?runs=1,2")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fcompare%3Fruns%3D1%2C2"


def test_healthz_is_public_but_says_only_the_status_without_credentials(
    auth_client: TestClient, accounts: dict[str, Account]
) -> None:
    assert auth_client.get("/healthz").json() == {"status": "ok"}
    detailed = auth_client.get("/healthz", headers=accounts["vera"].headers).json()
    assert detailed == {"status": "ok", "database": "ok", "broker": "ok"}


def test_a_token_works_until_revoked(auth_client: TestClient, accounts: dict[str, Account]) -> None:
    alice = accounts["alice"]
    me = auth_client.get("/api/me", headers=alice.headers)
    assert me.status_code == 200 and me.json() == {
        "id": alice.id,
        "name": "alice",
        "role": "member",
        "via": "token",
    }
    account_service.revoke_token(alice.token[: account_service.PREFIX_LENGTH])
    refused = auth_client.get("/api/runs", headers=alice.headers)
    assert refused.status_code == 401 and "revoked" in refused.json()["message"]
    for bad in ("Bearer nonsense", "Bearer xlt_" + "A" * 43, "Basic YWxpY2U6cHc=", "Bearer "):
        assert auth_client.get("/api/runs", headers={"Authorization": bad}).status_code == 401, bad


def test_a_disabled_user_is_refused_at_once_and_enabled_again(
    auth_client: TestClient, accounts: dict[str, Account]
) -> None:
    bob = accounts["bob"]
    assert auth_client.get("/api/runs", headers=bob.headers).status_code == 200
    account_service.set_disabled("bob")
    assert auth_client.get("/api/runs", headers=bob.headers).status_code == 401
    account_service.set_disabled("bob", False)
    assert auth_client.get("/api/runs", headers=bob.headers).status_code == 200


def _submit(client: TestClient, account: Account, **overrides: Any) -> Any:
    return client.post("/api/runs", json=tiny_config(**overrides), headers=account.headers)


@pytest.mark.usefixtures("accounts")
def test_a_viewer_reads_but_cannot_launch_or_share(
    auth_client: TestClient, accounts: dict[str, Account]
) -> None:
    vera = accounts["vera"]
    run_id = store.import_result(fake_result(tiny_config(), {"en": 0.8}))
    assert auth_client.get(f"/api/runs/{run_id}", headers=vera.headers).status_code == 200
    assert auth_client.get(f"/api/compare?runs={run_id}", headers=vera.headers).status_code == 200
    refused = _submit(auth_client, vera)
    assert refused.status_code == 403 and "member role" in refused.json()["message"]
    sweep = {"base": tiny_config(), "grid": {"train.seed": [1, 2]}}
    assert auth_client.post("/api/sweeps", json=sweep, headers=vera.headers).status_code == 403
    link = {"kind": "run", "view": {"run_id": run_id}}
    assert auth_client.post("/api/share-links", json=link, headers=vera.headers).status_code == 403
    assert store.list_runs().total == 1


def test_members_change_their_own_runs_and_admins_any(
    auth_client: TestClient, accounts: dict[str, Account]
) -> None:
    alice, bob, admin = accounts["alice"], accounts["bob"], accounts["admin"]
    run = _submit(auth_client, alice).json()["id"]
    assert auth_client.get(f"/api/runs/{run}", headers=bob.headers).json()["owner"] == "alice"
    for method, path, body in [
        ("POST", f"/api/runs/{run}/cancel", None),
        ("POST", f"/api/runs/{run}/retry", None),
        ("PUT", f"/api/runs/{run}/tags", {"tags": ["mine"]}),
        ("PUT", f"/api/runs/{run}/notes", {"notes": "mine"}),
    ]:
        refused = auth_client.request(method, path, json=body, headers=bob.headers)
        assert refused.status_code == 403, (method, path, refused.text)
        assert "only its owner or an admin" in refused.json()["message"]
    assert auth_client.put(f"/api/runs/{run}/tags", json={"tags": ["a"]}, headers=alice.headers).json() == [
        "a"
    ]
    assert auth_client.post(f"/api/runs/{run}/cancel", headers=admin.headers).json()["cancel_requested"]
    retried = auth_client.post(f"/api/runs/{run}/retry", headers=alice.headers).json()["id"]
    assert store.get_run(retried).owner == "alice"  # type: ignore[union-attr]
    assert auth_client.post(f"/api/runs/{retried}/cancel", headers=alice.headers).status_code == 200


def test_runs_record_their_launcher_and_filter_by_owner(
    auth_client: TestClient, accounts: dict[str, Account]
) -> None:
    alice, bob = accounts["alice"], accounts["bob"]
    mine = _submit(auth_client, alice).json()["id"]
    sweep = {"base": tiny_config(), "grid": {"train.seed": [1, 2]}}
    theirs = auth_client.post("/api/sweeps", json=sweep, headers=bob.headers).json()["run_ids"]
    page = auth_client.get("/api/runs?owner=alice", headers=bob.headers).json()
    assert [r["id"] for r in page["items"]] == [mine] and page["items"][0]["owner"] == "alice"
    page = auth_client.get("/api/runs?owner=bob&sort=id", headers=bob.headers).json()
    assert [r["id"] for r in page["items"]] == theirs
    assert auth_client.get("/api/runs?owner=nobody", headers=bob.headers).status_code == 422


def test_share_links_are_listed_and_revoked_by_their_owner_or_an_admin(
    auth_client: TestClient, accounts: dict[str, Account]
) -> None:
    alice, bob, admin, vera = accounts["alice"], accounts["bob"], accounts["admin"], accounts["vera"]
    run_id = store.import_result(fake_result(tiny_config(), {"en": 0.8}))
    link = {"kind": "run", "view": {"run_id": run_id}}
    token = auth_client.post("/api/share-links", json=link, headers=alice.headers).json()["token"]
    auth_client.post("/api/share-links", json=link, headers=bob.headers)

    def owners(account: Account) -> list[str]:
        return [x["owner"] for x in auth_client.get("/api/share-links", headers=account.headers).json()]

    assert owners(alice) == ["alice"] and owners(vera) == [] and sorted(owners(admin)) == ["alice", "bob"]
    assert auth_client.delete(f"/api/share-links/{token}", headers=bob.headers).status_code == 403
    assert auth_client.get(f"/s/{token}").status_code == 200  # still open, without an account
    assert auth_client.delete(f"/api/share-links/{token}", headers=admin.headers).status_code == 204
    assert auth_client.get(f"/s/{token}").status_code == 404


def test_docs_and_openapi_need_a_login_and_declare_the_bearer_scheme(
    auth_client: TestClient, accounts: dict[str, Account]
) -> None:
    assert auth_client.get("/openapi.json").status_code == 401
    assert auth_client.get("/docs").headers["location"] == "/login?next=%2Fdocs"
    schema = auth_client.get("/openapi.json", headers=accounts["vera"].headers).json()
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert auth_client.get("/docs", headers=accounts["vera"].headers).status_code == 200
