"""Alembic upgrade to head from code (`xlt db upgrade`, and `xlt serve` on start)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from backend.settings import get_settings

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", (url or get_settings().database_url).replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None) -> None:
    settings = get_settings()
    if url is None and settings.database_url.startswith("sqlite"):
        settings.ensure_home()
    command.upgrade(alembic_config(url), "head")
