"""reliability: the runs table is the queue of record (dispatch columns, reaper and dispatcher indexes)

Revision ID: 0003
Revises: 0002

Plain ADD/DROP COLUMN, never batch mode on `runs`: on SQLite a batch table copy would DROP the old
table and, with foreign keys on, delete every score and metric point through ON DELETE CASCADE.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("runs", sa.Column("dispatch_error", sa.Text(), nullable=True))
    op.create_index("ix_runs_status_heartbeat_at", "runs", ["status", "heartbeat_at"], unique=False)
    op.create_index("ix_runs_status_dispatched_at", "runs", ["status", "dispatched_at"], unique=False)
    # Runs queued before this revision count as sent (they were, or were failed at submit).
    op.execute("UPDATE runs SET dispatched_at = created_at WHERE status = 'queued'")


def downgrade() -> None:
    op.drop_index("ix_runs_status_dispatched_at", table_name="runs")
    op.drop_index("ix_runs_status_heartbeat_at", table_name="runs")
    op.drop_column("runs", "dispatch_error")  # SQLite >= 3.35 drops a column in place
    op.drop_column("runs", "dispatched_at")
