"""mlflow: what MLflow scripts log through /api/2.0/mlflow (params, tags, metric values, verbatim)

Revision ID: 0005
Revises: 0004

New tables only (plain CREATE TABLE / CREATE INDEX); `runs` is not touched. A run logged from
MLflow is an ordinary row of `runs` (queue 'mlflow'); these tables keep what its script sent.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _run_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["run_id"], ["runs.id"], name=op.f(f"fk_{table}_run_id_runs"), ondelete="CASCADE"
    )


def upgrade() -> None:
    for table in ("mlflow_params", "mlflow_tags"):
        op.create_table(
            table,
            sa.Column("run_id", sa.Integer(), nullable=False),
            sa.Column("key", sa.String(length=250), nullable=False),
            sa.Column("value", sa.Text(), nullable=False),
            _run_fk(table),
            sa.PrimaryKeyConstraint("run_id", "key", name=op.f(f"pk_{table}")),
        )
    op.create_table(
        "mlflow_metrics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        _run_fk("mlflow_metrics"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mlflow_metrics")),
    )
    op.create_index(
        "ix_mlflow_metrics_run_key_step", "mlflow_metrics", ["run_id", "key", "step"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_mlflow_metrics_run_key_step", table_name="mlflow_metrics")
    op.drop_table("mlflow_metrics")
    op.drop_table("mlflow_tags")
    op.drop_table("mlflow_params")
