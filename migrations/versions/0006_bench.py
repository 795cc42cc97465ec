"""bench: the runs list stays an index range at 100,000 runs (issue 19, bench/growth.py)

Revision ID: 0006
Revises: 0005

One index (column, id) per sort key of the runs list, id breaking ties, so the first page of any
sort reads 50 index entries instead of sorting every run (sorted by accuracy: 156 → 0.1 ms of SQL at
100,000 runs); they replace the single-column indexes on created_at, status and task. run_tags gets
(tag, run_id): the tag filter and the list of distinct tags read the index alone.

`run_totals` holds the number of runs, kept by triggers on `runs` (per statement on PostgreSQL, per
row on SQLite): the unfiltered list's total without counting every run (PostgreSQL: 27-45 ms at
100,000 runs on the loaded bench machine).

Plain CREATE/DROP INDEX, never batch mode on `runs` (see 0003).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SORTED_COLUMNS = (  # backend.models.SORTED_COLUMNS when this revision was written
    "created_at",
    "started_at",
    "finished_at",
    "status",
    "task",
    "model",
    "method",
    "seed",
    "name",
    "progress",
    "average",
)
REPLACED = ("created_at", "status", "task")  # single-column indexes of 0001

POSTGRES_TRIGGERS = (
    "CREATE FUNCTION xlt_runs_inserted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    " UPDATE run_totals SET runs = runs + (SELECT count(*) FROM inserted) WHERE id = 1; RETURN NULL; END $$",
    "CREATE FUNCTION xlt_runs_deleted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    " UPDATE run_totals SET runs = runs - (SELECT count(*) FROM deleted) WHERE id = 1; RETURN NULL; END $$",
    "CREATE TRIGGER run_totals_insert AFTER INSERT ON runs REFERENCING NEW TABLE AS inserted"
    " FOR EACH STATEMENT EXECUTE FUNCTION xlt_runs_inserted()",
    "CREATE TRIGGER run_totals_delete AFTER DELETE ON runs REFERENCING OLD TABLE AS deleted"
    " FOR EACH STATEMENT EXECUTE FUNCTION xlt_runs_deleted()",
)
SQLITE_TRIGGERS = (
    "CREATE TRIGGER run_totals_insert AFTER INSERT ON runs"
    " BEGIN UPDATE run_totals SET runs = runs + 1 WHERE id = 1; END",
    "CREATE TRIGGER run_totals_delete AFTER DELETE ON runs"
    " BEGIN UPDATE run_totals SET runs = runs - 1 WHERE id = 1; END",
)


def upgrade() -> None:
    for column in SORTED_COLUMNS:
        op.create_index(f"ix_runs_{column}_id", "runs", [column, "id"], unique=False)
    for column in REPLACED:
        op.drop_index(f"ix_runs_{column}", table_name="runs")
    op.create_index("ix_run_tags_tag_run_id", "run_tags", ["tag", "run_id"], unique=False)
    op.drop_index("ix_run_tags_tag", table_name="run_tags")
    op.create_table(
        "run_totals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_totals")),
    )
    op.execute("INSERT INTO run_totals (id, runs) SELECT 1, count(*) FROM runs")
    for statement in POSTGRES_TRIGGERS if _postgres() else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS run_totals_insert" + (" ON runs" if _postgres() else ""))
    op.execute("DROP TRIGGER IF EXISTS run_totals_delete" + (" ON runs" if _postgres() else ""))
    if _postgres():
        op.execute("DROP FUNCTION IF EXISTS xlt_runs_inserted()")
        op.execute("DROP FUNCTION IF EXISTS xlt_runs_deleted()")
    op.drop_table("run_totals")
    op.create_index("ix_run_tags_tag", "run_tags", ["tag"], unique=False)
    op.drop_index("ix_run_tags_tag_run_id", table_name="run_tags")
    for column in REPLACED:
        op.create_index(f"ix_runs_{column}", "runs", [column], unique=False)
    for column in SORTED_COLUMNS:
        op.drop_index(f"ix_runs_{column}_id", table_name="runs")


def _postgres() -> bool:
    return op.get_context().dialect.name == "postgresql"
