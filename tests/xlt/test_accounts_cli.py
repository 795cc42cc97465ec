"""`xlt users …` and `xlt tokens …` on the configured database, then the app those accounts log into."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from tests.factories import REPO, xlt_environment

PASSWORD = "a long enough password"


def xlt(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XLT_")} | {"XLT_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "xlt.cli", *args],
        cwd=REPO,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
    )


def test_users_and_tokens_made_on_the_command_line_log_in_and_are_revoked(tmp_path: Path) -> None:
    home = tmp_path / "home"
    created = xlt(
        home, "users", "create", "alice", "--role", "member", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert created.returncode == 0 and created.stdout.strip() == "created member 'alice'", created.stderr
    made = xlt(home, "tokens", "create", "alice", "--label", "ci")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("xlt_") and len(token) == 47 and "shown only now" in made.stderr

    with xlt_environment(home=str(home), auth="on"), TestClient(_app(), follow_redirects=False) as client:
        login = client.post("/login", data={"name": "alice", "password": PASSWORD, "next": "/launch"})
        assert login.status_code == 303 and login.headers["location"] == "/launch"
        assert client.get("/launch").status_code == 200  # the session cookie works
        client.cookies.clear()
        me = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json() == {"id": 1, "name": "alice", "role": "member", "via": "token"}

        listed = xlt(home, "tokens", "list", "alice")
        assert token[:12] in listed.stdout and "ci" in listed.stdout and token not in listed.stdout
        revoked = xlt(home, "tokens", "revoke", token[:12])
        assert revoked.returncode == 0 and f"revoked token {token[:12]}" in revoked.stdout
        assert client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401

        assert xlt(home, "users", "disable", "alice").stdout.strip() == "'alice' is disabled"
        refused = client.post("/login", data={"name": "alice", "password": PASSWORD})
        assert refused.status_code == 401 and "disabled" in refused.text


def _app():  # type: ignore[no-untyped-def]
    from backend.app import create_app

    return create_app()
