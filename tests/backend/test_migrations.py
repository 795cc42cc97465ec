"""The Alembic migrations and the SQLAlchemy models agree (autogenerate finds nothing to add)."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from backend.db import get_engine
from backend.migrate import upgrade
from backend.models import Base
from backend.settings import Settings
from tests.factories import postgres_database


def _diff(url: str) -> list[object]:
    with get_engine(url).connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def test_sqlite_migrations_match_the_models_and_use_wal(embedded_settings: Settings) -> None:
    url = embedded_settings.database_url
    assert _diff(url) == []
    with get_engine(url).connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    indexes = {ix["name"]: ix["column_names"] for ix in inspect(get_engine(url)).get_indexes("metric_points")}
    assert indexes["ix_metric_points_run_series"][0] == "run_id"


def test_upgrade_twice_is_a_no_op(embedded_settings: Settings) -> None:
    upgrade()
    assert _diff(embedded_settings.database_url) == []


@pytest.mark.postgres
def test_postgres_migrations_match_the_models() -> None:
    with postgres_database() as url:
        upgrade(url)
        assert _diff(url) == []
