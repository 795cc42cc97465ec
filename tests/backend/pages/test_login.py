"""Browser sessions through the real form: log in, the cookie's flags, come back to `next`, log out;
pages show and hide what the user's role allows."""

from __future__ import annotations

from fastapi.testclient import TestClient

from backend import store
from backend.pages.login_page import safe_next
from backend.services import accounts as account_service
from tests.factories import Account, fake_result, tiny_config


def login(client: TestClient, account: Account, next_page: str = "/") -> str:
    response = client.post(
        "/login", data={"name": account.name, "password": account.password, "next": next_page}
    )
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def test_login_sets_an_httponly_samesite_cookie_and_logout_clears_it(
    auth_client: TestClient, accounts: dict[str, Account]
) -> None:
    page = auth_client.get("/login?next=/compare%3Fruns%3D1")
    assert page.status_code == 200 and 'name="next" value="/compare?runs=1"' in page.text
    response = auth_client.post("/login", data={"name": "alice", "password": accounts["alice"].password})
    cookie = response.headers["set-cookie"]
    assert (
        cookie.startswith("xlt_session=")
        and "httponly" in cookie.lower()
        and "samesite=lax" in cookie.lower()
    )
    assert "secure" not in cookie.lower()  # plain HTTP here; over HTTPS (XLT_COOKIE_SECURE=auto) it is Secure
    home = auth_client.get("/")
    assert home.status_code == 200 and 'id="whoami"' in home.text and "alice · member" in home.text
    out = auth_client.post("/logout")
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert auth_client.get("/").status_code == 303


def test_login_over_https_sets_a_secure_cookie(auth_client: TestClient, accounts: dict[str, Account]) -> None:
    auth_client.base_url = auth_client.base_url.copy_with(scheme="https")  # as behind a TLS proxy
    response = auth_client.post("/login", data={"name": "alice", "password": accounts["alice"].password})
    assert "; secure" in response.headers["set-cookie"].lower()


def test_login_comes_back_to_a_local_next_page_only(
    auth_client: TestClient, accounts: dict[str, Account]
) -> None:
    assert login(auth_client, accounts["vera"], "/compare?runs=1,2") == "/compare?runs=1,2"
    for evil in (
        "//evil.example/x",
        "https://evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
        "runs",
    ):
        assert safe_next(evil) == "/", evil
    assert safe_next("/runs/3?tab=x") == "/runs/3?tab=x"


def test_a_wrong_password_shows_one_clear_error_and_keeps_the_name(
    auth_client: TestClient, accounts: dict[str, Account]
) -> None:
    for name in ("alice", "nobody"):
        response = auth_client.post("/login", data={"name": name, "password": "not the password"})
        assert response.status_code == 401
        assert 'id="login-error"' in response.text and "Wrong user name or password." in response.text
        assert f'value="{name}"' in response.text
        assert "set-cookie" not in response.headers


def test_a_disabled_users_session_ends_with_the_next_request(
    auth_client: TestClient, accounts: dict[str, Account]
) -> None:
    login(auth_client, accounts["bob"])
    assert auth_client.get("/").status_code == 200
    account_service.set_disabled("bob")
    response = auth_client.get("/")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert response.headers["set-cookie"].startswith("xlt_session=null;")  # the browser drops it


def test_pages_hide_and_refuse_what_the_role_does_not_allow(
    auth_client: TestClient, accounts: dict[str, Account]
) -> None:
    alice, vera = accounts["alice"], accounts["vera"]
    mine = auth_client.post("/api/runs", json=tiny_config(), headers=alice.headers).json()["id"]
    finished = store.import_result(fake_result(tiny_config(), {"en": 0.8}))
    login(auth_client, vera)
    runs_page = auth_client.get("/").text
    assert 'href="/launch"' not in runs_page and "alice" in runs_page  # owner column
    page = auth_client.get(f"/runs/{mine}").text
    assert 'id="cancel-run"' not in page and 'id="share-open"' not in page and "launched by alice" in page
    assert auth_client.get("/launch").status_code == 403
    refused = auth_client.post(f"/runs/{mine}/cancel")
    assert refused.status_code == 403 and "viewer" in refused.text
    assert auth_client.get(f"/compare?runs={finished}").status_code == 200

    auth_client.post("/logout")
    login(auth_client, accounts["bob"])
    page = auth_client.get(f"/runs/{mine}").text
    assert 'id="cancel-run"' not in page and 'id="share-open"' in page  # bob may share, not cancel alice's
    assert auth_client.post(f"/runs/{mine}/cancel").status_code == 403
    auth_client.post("/logout")
    login(auth_client, alice)
    assert 'id="cancel-run"' in auth_client.get(f"/runs/{mine}").text
    assert auth_client.post(f"/runs/{mine}/cancel").status_code == 303
    assert store.get_run(mine).cancel_requested  # type: ignore[union-attr]
    assert f'data-run-id="{mine}"' in auth_client.get("/?owner=alice").text
    assert 'data-run-id="' not in auth_client.get("/?owner=bob").text
