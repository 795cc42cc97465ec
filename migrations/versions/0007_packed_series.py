"""packed series: a run's loss/lr (and MLflow stepped) points as a few packed rows (issue 19)

Revision ID: 0007
Revises: 0006

`metric_points` held one row per point, about 60 bytes each with its index entry: 120 KB a run with
1,000 loss and 1,000 learning-rate points, most of a run's bytes. `metric_chunks` holds each series
packed (backend.metric_codec: delta-encoded steps, float32 values where exact, zlib): 4-8 KB for
the same 1,000 points. Every point moves over, run by run, in this migration's transaction, and
the downgrade moves them back, so nothing is lost either way.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

import sqlalchemy as sa
from alembic import op

from backend.metric_codec import pack, unpack

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH_RUNS = 200  # runs whose points are moved per round (bounded memory at any database size)


def _run_batches(conn: sa.Connection, table: str) -> Iterator[list[int]]:
    run_ids = [r for (r,) in conn.execute(sa.text(f"SELECT DISTINCT run_id FROM {table} ORDER BY run_id"))]
    for first in range(0, len(run_ids), BATCH_RUNS):
        yield run_ids[first : first + BATCH_RUNS]


def upgrade() -> None:
    chunks = op.create_table(
        "metric_chunks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("min_step", sa.BigInteger(), nullable=False),
        sa.Column("max_step", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_metric_chunks_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_chunks")),
    )
    op.create_index("ix_metric_chunks_run_series", "metric_chunks", ["run_id", "name", "stage", "id"])
    conn = op.get_bind()
    select_points = sa.text(
        "SELECT run_id, stage, name, step, value FROM metric_points WHERE run_id IN :ids"
        " ORDER BY run_id, name, stage, step, id"
    ).bindparams(sa.bindparam("ids", expanding=True))
    for ids in _run_batches(conn, "metric_points"):
        rows = conn.execute(select_points, {"ids": ids}).all()
        packed = []
        for (run_id, stage, name), points in itertools.groupby(rows, key=lambda r: (r[0], r[1], r[2])):
            series = list(points)
            steps, values = [p[3] for p in series], [float(p[4]) for p in series]
            packed.append(
                {
                    "run_id": run_id,
                    "stage": stage,
                    "name": name,
                    "n": len(steps),
                    "min_step": min(steps),
                    "max_step": max(steps),
                    "data": pack(steps, values),
                }
            )
        if packed:
            conn.execute(sa.insert(chunks), packed)
    op.drop_index("ix_metric_points_run_series", table_name="metric_points")
    op.drop_table("metric_points")


def downgrade() -> None:
    points = op.create_table(
        "metric_points",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_metric_points_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_points")),
    )
    op.create_index("ix_metric_points_run_series", "metric_points", ["run_id", "name", "stage", "step"])
    conn = op.get_bind()
    select_chunks = sa.text(
        "SELECT run_id, stage, name, data FROM metric_chunks WHERE run_id IN :ids ORDER BY run_id, id"
    ).bindparams(sa.bindparam("ids", expanding=True))
    for ids in _run_batches(conn, "metric_chunks"):
        rows = []
        for run_id, stage, name, data in conn.execute(select_chunks, {"ids": ids}):
            steps, values = unpack(data)
            rows += [
                {"run_id": run_id, "stage": stage, "name": name, "step": st, "value": v}
                for st, v in zip(steps, values, strict=True)
            ]
        if rows:
            conn.execute(sa.insert(points), rows)
    op.drop_index("ix_metric_chunks_run_series", table_name="metric_chunks")
    op.drop_table("metric_chunks")
