"""Which PG secret key each cancel's call went out under

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 07:40:00

Toss keeps an Idempotency-Key per secret key: a cancel sent again under a key that replaced the
account's old one is a new cancel to Toss, a second refund if the first went through. Each cancel
records the key it was sent under (a digest), and is sent again only under that key. Existing
rows have none, and are sent again as before.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("payment_cancels", sa.Column("pg_key", sa.String(length=16), nullable=True))


def downgrade() -> None:
    op.drop_column("payment_cancels", "pg_key")
