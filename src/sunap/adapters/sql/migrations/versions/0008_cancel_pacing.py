"""Cancels of one payment paced across processes

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-02 10:00:00

Toss processes one cancel of a payment per second and refuses the others with
FORBIDDEN_CONSECUTIVE_REQUEST (docs/toss.md "Pacing"). `payments.next_cancel_at` is when the next
cancel of the payment may go to Toss: a process takes the turn with a conditional UPDATE of it
(holding it while its cancel is in flight) and frees it a second after the answer, so every API
process and worker on the database keeps to the same pace.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of sunap.adapters.sql.columns: a revision must not change when that module does.
TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.add_column("payments", sa.Column("next_cancel_at", TIMESTAMP, nullable=True))


def downgrade() -> None:
    op.drop_column("payments", "next_cancel_at")
