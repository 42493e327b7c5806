"""When the expiry asks Toss again about a READY payment Toss still held open

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 21:30:00

A READY payment past its time to live whose order Toss still holds open (the customer
authenticated, and Toss lets the order be confirmed for 10 more minutes) is not expired at once:
the expiry asks Toss again at `expiry_recheck_at`. Existing rows have none: due as before.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of sunap.adapters.sql.columns: a revision must not change when that module does.
TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.add_column("payments", sa.Column("expiry_recheck_at", TIMESTAMP, nullable=True))


def downgrade() -> None:
    op.drop_column("payments", "expiry_recheck_at")
