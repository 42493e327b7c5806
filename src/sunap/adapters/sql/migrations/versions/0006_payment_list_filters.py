"""Payment lists filtered by status or customer stay index-ordered at any size

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 03:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# GET /v1/payments?status=… and ?customerKey=… page newest first within a tenant: with the
# filter in the index, a page reads its rows in order instead of skipping through every payment
# of the tenant that does not match (a tenant of a million DONE payments asking for READY ones).
INDEXES = {
    "ix_payments_tenant_status_newest": ["tenant_id", "status", "created_at", "id"],
    "ix_payments_tenant_customer_newest": ["tenant_id", "customer_key", "created_at", "id"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "payments", columns, unique=False)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="payments")
