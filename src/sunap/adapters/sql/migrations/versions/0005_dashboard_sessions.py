"""Dashboard sessions; webhook deliveries looked up by payment

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 10:00:00

The dashboard keeps its sessions on the server (`web_sessions`: the SHA-256 of the browser's
token, the API key it was opened with, its CSRF token and its times), and shows a payment's webhook
deliveries, which needs an index on `webhook_deliveries.payment_id`.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of sunap.adapters.sql.columns: a revision must not change when that module does.
TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("api_key_id", sa.String(length=64), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("last_seen_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_web_sessions_api_key_id_api_keys")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    op.create_index("ix_web_sessions_last_seen_at", "web_sessions", ["last_seen_at"], unique=False)
    op.create_index(
        "ix_webhook_deliveries_payment_id", "webhook_deliveries", ["payment_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_payment_id", table_name="webhook_deliveries")
    op.drop_index("ix_web_sessions_last_seen_at", table_name="web_sessions")
    op.drop_table("web_sessions")
