"""accounts: users, API tokens, and who owns a run or a share link

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 15:05:22.660188

`owner_id` is added with a plain ADD COLUMN (a foreign key inline), never by recreating `runs`: on
SQLite, batch mode would copy the table and DROP the old one, and with foreign keys on that DROP
deletes every score, metric point and tag through ON DELETE CASCADE. It has no ON DELETE rule
(users are disabled, never deleted), which also keeps SQLite's reflection equal to the models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _add_owner(table: str) -> None:
    fk = f"fk_{table}_owner_id_users"
    if op.get_bind().dialect.name == "sqlite":  # a named column constraint: no table copy
        op.execute(f"ALTER TABLE {table} ADD COLUMN owner_id INTEGER CONSTRAINT {fk} REFERENCES users (id)")
    else:
        op.add_column(table, sa.Column("owner_id", sa.Integer(), nullable=True))
        op.create_foreign_key(op.f(fk), table, "users", ["owner_id"], ["id"])
    op.create_index(op.f(f"ix_{table}_owner_id"), table, ["owner_id"], unique=False)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("name", name=op.f("uq_users_name")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index(op.f("ix_api_tokens_prefix"), "api_tokens", ["prefix"], unique=False)
    op.create_index(op.f("ix_api_tokens_user_id"), "api_tokens", ["user_id"], unique=False)
    _add_owner("runs")
    _add_owner("share_links")


def downgrade() -> None:
    for table in ("share_links", "runs"):
        op.drop_index(op.f(f"ix_{table}_owner_id"), table_name=table)
        if op.get_bind().dialect.name == "sqlite":  # SQLite ≥ 3.35 drops a column in place
            op.execute(f"ALTER TABLE {table} DROP COLUMN owner_id")
        else:
            op.drop_constraint(op.f(f"fk_{table}_owner_id_users"), table, type_="foreignkey")
            op.drop_column(table, "owner_id")
    op.drop_index(op.f("ix_api_tokens_user_id"), table_name="api_tokens")
    op.drop_index(op.f("ix_api_tokens_prefix"), table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_table("users")
