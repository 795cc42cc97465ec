"""The key that signs session cookies: generated once (0600) and kept, or given and checked."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from backend.access.sessions import WeakSecret, session_secret
from tests.factories import xlt_environment


def test_a_generated_secret_is_private_and_survives_restarts(tmp_path: Path) -> None:
    with xlt_environment(home=str(tmp_path)) as settings:
        key = session_secret(settings)
        path = tmp_path / "secret_key"
        assert len(key) >= 48 and stat.S_IMODE(path.stat().st_mode) == 0o600
        path.chmod(0o644)  # loosened by hand: tightened again
        assert session_secret(settings) == key and stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_weak_secret_is_refused_where_sessions_matter(tmp_path: Path) -> None:
    for weak in ("changeme", "short-but-random-3f9a"):
        for host, auth in [
            ("0.0.0.0", "auto"),
            ("0.0.0.0", "off"),
            ("127.0.0.1", "on"),
        ]:  # on: behind a proxy
            with (
                xlt_environment(home=str(tmp_path), host=host, auth=auth, secret_key=weak) as settings,
                pytest.raises(WeakSecret, match="XLT_SECRET_KEY is weak"),
            ):
                session_secret(settings)
        with xlt_environment(home=str(tmp_path), host="127.0.0.1", secret_key=weak) as settings:
            assert session_secret(settings) == weak  # loopback without accounts: no sessions to forge
    strong = "k" * 20 + "Qx8-vX2_pL0aZr7mN4bC1dE5"
    with xlt_environment(home=str(tmp_path), host="0.0.0.0", secret_key=strong) as settings:
        assert session_secret(settings) == strong
        assert "Qx8" not in repr(settings)  # a SecretStr: never printed with the settings


def test_auth_auto_is_on_unless_bound_to_loopback_only() -> None:
    for host, auth, enabled in [
        ("127.0.0.1", "auto", False),
        ("localhost", "auto", False),
        ("::1", "auto", False),
        ("0.0.0.0", "auto", True),
        ("10.1.2.3", "auto", True),
        ("127.0.0.1", "on", True),
        ("0.0.0.0", "off", False),
    ]:
        with xlt_environment(host=host, auth=auth) as settings:
            assert settings.auth_enabled is enabled, (host, auth)
