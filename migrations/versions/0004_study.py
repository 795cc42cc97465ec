"""study: experiments have a kind (sweep | study | import), runs keep their warnings, and per-example
correctness of every evaluated dataset × language is stored as a bitset (table run_correctness)

Revision ID: 0004
Revises: 0003

A study's spec (base config, methods, seeds, baseline) lives in the existing `experiments.spec`
JSON, as a sweep's (base, grid) does. Plain ADD COLUMN and CREATE TABLE, never batch mode on
`runs`: on SQLite a batch table copy would DROP the old table and, with foreign keys on, delete
every score and metric point through ON DELETE CASCADE.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "experiments", sa.Column("kind", sa.String(length=16), nullable=False, server_default="sweep")
    )
    # Experiments made before this revision: a sweep has its grid in `spec`; imports have no spec.
    op.execute("UPDATE experiments SET kind = 'import' WHERE spec IS NULL")
    op.add_column("runs", sa.Column("warnings", sa.JSON(), nullable=True))
    op.create_table(
        "run_correctness",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("dataset", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("split", sa.String(length=32), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("bits", sa.Text(), nullable=False),
        sa.Column("items_digest", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_run_correctness_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "dataset", "language", "split", name=op.f("pk_run_correctness")),
    )


def downgrade() -> None:
    op.drop_table("run_correctness")
    op.drop_column("runs", "warnings")  # SQLite >= 3.35 drops a column in place
    op.drop_column("experiments", "kind")
