"""reliability: the runs table is the queue of record (dispatch columns, reaper and dispatcher indexes)

Revision ID: 0003
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("dispatch_error", sa.Text(), nullable=True))
        batch_op.create_index("ix_runs_status_heartbeat_at", ["status", "heartbeat_at"], unique=False)
        batch_op.create_index("ix_runs_status_dispatched_at", ["status", "dispatched_at"], unique=False)
    # Runs queued before this revision count as sent (they were, or were failed at submit).
    op.execute("UPDATE runs SET dispatched_at = created_at WHERE status = 'queued'")


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index("ix_runs_status_dispatched_at")
        batch_op.drop_index("ix_runs_status_heartbeat_at")
        batch_op.drop_column("dispatch_error")
        batch_op.drop_column("dispatched_at")
