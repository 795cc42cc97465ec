"""The Alembic migrations and the SQLAlchemy models agree (autogenerate finds nothing to add)."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from backend.db import dispose_engines, get_engine
from backend.migrate import alembic_config, upgrade
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


def test_0004_keeps_runs_and_scores_and_sets_the_kind_of_earlier_experiments(tmp_path: Path) -> None:
    """Upgrading a database with runs from 0003 to 0004 keeps every score (no table copy of `runs`),
    marks sweeps and imports, and the new columns and table take a result's warnings and bitsets."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0003")
    now = "2026-12-01 00:00:00"
    with get_engine(url).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO experiments (id, name, description, spec, created_at) VALUES "
                "(1, 'grid', '', '{\"grid\": {}}', :t), (2, 'imported', '', NULL, :t)"
            ),
            {"t": now},
        )
        conn.execute(
            text(
                "INSERT INTO runs (id, experiment_id, name, status, task, model, method, seed, queue, "
                "config, progress, notes, created_at, attempts, cancel_requested) VALUES "
                "(1, 1, '', 'succeeded', 'xnli', 'm', 'baseline', 1, 'cpu', '{}', 1.0, '', :t, 1, 0)"
            ),
            {"t": now},
        )
        conn.execute(text("INSERT INTO scores VALUES (1, 'xnli', 'sw', 'test', 'accuracy', 0.5, 10)"))
    dispose_engines()
    command.upgrade(alembic_config(url), "head")
    assert _diff(url) == []
    with get_engine(url).begin() as conn:
        kinds: dict[int, str] = dict(conn.execute(text("SELECT id, kind FROM experiments ORDER BY id")).all())
        assert kinds == {1: "sweep", 2: "import"}
        assert conn.execute(text("SELECT count(*) FROM scores")).scalar() == 1
        assert conn.execute(text("SELECT warnings FROM runs")).scalar() is None
        conn.execute(text("INSERT INTO run_correctness VALUES (1, 'xnli', 'sw', 'test', 3, 'oA==', NULL)"))
        conn.execute(text("DELETE FROM runs"))  # bitsets go with their run
        assert conn.execute(text("SELECT count(*) FROM run_correctness")).scalar() == 0
    command.downgrade(alembic_config(url), "0003")
    assert "run_correctness" not in inspect(get_engine(url)).get_table_names()
