"""docker-compose.yml (Docker cannot run here): services, and every XLT_ variable is a Settings field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from backend.settings import Settings

REPO = Path(__file__).resolve().parents[1]


def _compose() -> dict[str, Any]:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_compose_has_postgres_redis_api_and_a_gpu_worker() -> None:
    services = _compose()["services"]
    assert set(services) == {"postgres", "redis", "api", "worker-gpu"}
    assert "healthcheck" in services["postgres"] and services["postgres"]["volumes"]
    assert "healthcheck" in services["redis"]
    assert "xlt db upgrade" in " ".join(services["api"]["command"])
    assert services["api"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    worker = services["worker-gpu"]
    assert worker["command"] == ["xlt", "worker"]
    devices = worker["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    assert worker["environment"]["XLT_WORKER_CONCURRENCY"] == "1"
    assert (REPO / "Dockerfile").is_file()


def test_the_api_runs_with_accounts_a_first_admin_and_a_host_allow_list() -> None:
    env = {k: str(v) for k, v in _compose()["services"]["api"]["environment"].items()}
    assert env["XLT_AUTH"] == "on" and env["XLT_ADMIN_USER"] == "admin"
    assert env["XLT_ALLOWED_HOSTS"].startswith("${XLT_ALLOWED_HOSTS:-")  # overridable per deployment
    assert "XLT_SECRET_KEY" not in env  # generated into the xlthome volume, never a default in the file
    settings = Settings.model_validate({k.removeprefix("XLT_").lower(): v for k, v in env.items()})
    assert settings.auth_enabled and not settings.loopback_only
    assert "127.0.0.1" in settings.allowed_host_names  # the container's own health check


def test_every_xlt_variable_is_a_settings_field_and_points_at_the_services() -> None:
    services = _compose()["services"]
    for name in ("api", "worker-gpu"):
        env = {k: str(v) for k, v in services[name]["environment"].items()}
        xlt = {k: v for k, v in env.items() if k.startswith("XLT_")}
        unknown = [k for k in xlt if k.removeprefix("XLT_").lower() not in Settings.model_fields]
        assert unknown == [], f"{name}: {unknown} are not Settings fields"
        settings = Settings.model_validate({k.removeprefix("XLT_").lower(): v for k, v in xlt.items()})
        assert (
            settings.database_url.startswith("postgresql+psycopg://")
            and "@postgres:" in settings.database_url
        )
        assert settings.broker_url.startswith("redis://redis:")
        assert not settings.embedded_broker
