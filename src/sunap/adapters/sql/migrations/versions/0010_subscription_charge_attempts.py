"""The attempts made at a subscription's current period, apart from its dunning count

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 15:30:00

A charge's orderId is `{subscription}-p{period}-a{attempt}`. The attempt was the dunning count
(`failed_attempts`) plus one, and a resume resets that count: the resume's charge claimed the
orderId of the period's first refused attempt again and was refused as a duplicate forever.
`charge_attempts` counts the attempts claimed at the current period and only a paid period resets
it. Until now a committed row's attempts were its refusals plus the charge in flight, if any (every
resume after a refusal was refused as a duplicate and rolled back; one before any attempt found
none), so existing rows are counted that way, which also frees the subscriptions stuck so.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "subscriptions",
        sa.Column("charge_attempts", sa.Integer(), nullable=False, server_default="0"),
    )
    op.execute(
        "UPDATE subscriptions SET charge_attempts = failed_attempts"
        " + CASE WHEN charging_payment_id IS NULL THEN 0 ELSE 1 END"
    )


def downgrade() -> None:
    op.drop_column("subscriptions", "charge_attempts")
