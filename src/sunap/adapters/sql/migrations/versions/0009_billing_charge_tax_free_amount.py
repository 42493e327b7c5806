"""The tax-free part of a payment's amount, for billing-key charges

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 07:00:00

A charge of a stored card sends Toss `taxFreeAmount` (the part of the amount free of VAT). It is
kept on the payment so that a retry of the same charge (the reconciler's, after an answer that was
lost) sends what the first call sent. Existing payments get 0: nothing tax-free was ever sent.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "payments",
        sa.Column("tax_free_amount", sa.BigInteger(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_column("payments", "tax_free_amount")
