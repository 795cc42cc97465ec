"""bench: the runs list stays an index range at 100,000 runs (issue 19, bench/growth.py)

Revision ID: 0006
Revises: 0005

One index (column, id) per sort key of the runs list, id breaking ties, so the first page of any
sort reads 50 index entries instead of sorting every run (sorted by accuracy: 156 → 0.1 ms of SQL at
100,000 runs); they replace the single-column indexes on created_at, status and task. run_tags gets
(tag, run_id): the tag filter and the list of distinct tags read the index alone.

Plain CREATE/DROP INDEX, never batch mode on `runs` (see 0003).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0003"  # TEMPORARY for this branch: "0005" once 0004 and 0005 are merged
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


def upgrade() -> None:
    for column in SORTED_COLUMNS:
        op.create_index(f"ix_runs_{column}_id", "runs", [column, "id"], unique=False)
    for column in REPLACED:
        op.drop_index(f"ix_runs_{column}", table_name="runs")
    op.create_index("ix_run_tags_tag_run_id", "run_tags", ["tag", "run_id"], unique=False)
    op.drop_index("ix_run_tags_tag", table_name="run_tags")


def downgrade() -> None:
    op.create_index("ix_run_tags_tag", "run_tags", ["tag"], unique=False)
    op.drop_index("ix_run_tags_tag_run_id", table_name="run_tags")
    for column in REPLACED:
        op.create_index(f"ix_runs_{column}", "runs", [column], unique=False)
    for column in SORTED_COLUMNS:
        op.drop_index(f"ix_runs_{column}_id", table_name="runs")
