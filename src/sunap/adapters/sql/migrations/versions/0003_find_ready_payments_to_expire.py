"""Find READY payments to expire by status and age

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The expiry worker asks for READY payments created before a cutoff, oldest first.
    op.create_index(
        "ix_payments_status_created_at", "payments", ["status", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_payments_status_created_at", table_name="payments")
