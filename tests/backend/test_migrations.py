"""The Alembic migrations and the SQLAlchemy models agree (autogenerate finds nothing to add)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
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
    indexes = {ix["name"]: ix["column_names"] for ix in inspect(get_engine(url)).get_indexes("metric_chunks")}
    assert indexes["ix_metric_chunks_run_series"][0] == "run_id"


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


POINT = "run_id, stage, name, step, value"


def _point_rows(url: str) -> list[tuple[object, ...]]:
    with get_engine(url).connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text(f"SELECT {POINT} FROM metric_points ORDER BY run_id, name, stage, step")
            )
        ]


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_0007_packs_every_point_and_the_downgrade_puts_them_back(tmp_path: Path, database: str) -> None:
    """Upgrading to 0007 moves each run's loss/lr points into packed series, bit for bit (a float64
    learning rate, a float32 loss, a resumed run's steps out of order), and back on a downgrade."""
    with contextlib.ExitStack() as stack:
        url = (
            f"sqlite:///{tmp_path / 'old.db'}"
            if database == "sqlite"
            else stack.enter_context(postgres_database())
        )
        command.upgrade(alembic_config(url), "0006")
        with get_engine(url).begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO runs (id, name, status, task, model, method, seed, queue, config, progress,"
                    " notes, created_at, attempts, cancel_requested) VALUES"
                    " (1, '', 'succeeded', 'xnli', 'm', 'baseline', 1, 'cpu', '{}', 1.0, '', :t, 1, false),"
                    " (2, '', 'succeeded', 'xnli', 'm', 'baseline', 2, 'cpu', '{}', 1.0, '', :t, 1, false)"
                ),
                {"t": "2026-12-01 00:00:00"},
            )
            points = [
                {"r": 1, "st": "task", "n": "loss", "s": s, "v": float(np.float32(1.0 / s))}
                for s in (3, 1, 2)
            ]
            points += [{"r": 1, "st": "task", "n": "lr", "s": s, "v": 2e-5 * (1 - s / 7)} for s in (1, 2, 3)]
            points += [{"r": 1, "st": "intermediate", "n": "loss", "s": 5, "v": 0.25}]
            points += [{"r": 2, "st": "task", "n": "loss", "s": s, "v": 0.1 * s} for s in range(1, 1001)]
            conn.execute(
                text(f"INSERT INTO metric_points ({POINT}) VALUES (:r, :st, :n, :s, :v)"),
                points,
            )
        before = _point_rows(url)
        dispose_engines()
        command.upgrade(alembic_config(url), "head")
        assert _diff(url) == []
        assert "metric_points" not in inspect(get_engine(url)).get_table_names()
        with get_engine(url).connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM metric_chunks")).scalar() == 4  # one per series
        dispose_engines()
        command.downgrade(alembic_config(url), "0006")
        assert _point_rows(url) == before
        dispose_engines()
