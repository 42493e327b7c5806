"""Billing keys and subscriptions; payments that charge a billing key

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-29 03:00:00

`billing_keys` holds a customer's stored card at Toss (its billingKey sealed with
SUNAP_SECRETS_KEY and as a sha256, never in the clear); `subscriptions` a plan charged once per
period; `payments.billing_key_id` / `payments.subscription_id` name what a charge was for.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of sunap.adapters.sql.columns: a revision must not change when that module does.
TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
BLOB = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")
MARIADB = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}


def upgrade() -> None:
    op.add_column("payments", sa.Column("billing_key_id", sa.String(length=64), nullable=True))
    op.add_column("payments", sa.Column("subscription_id", sa.String(length=64), nullable=True))
    op.create_index(
        "ix_payments_subscription", "payments", ["subscription_id", "created_at"], unique=False
    )
    op.create_table(
        "billing_keys",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("pg_account_id", sa.String(length=64), nullable=False),
        sa.Column("customer_key", sa.String(length=300), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("card_company", sa.String(length=64), nullable=True),
        sa.Column("card_number", sa.String(length=64), nullable=True),
        sa.Column("card_type", sa.String(length=32), nullable=True),
        sa.Column("card_owner_type", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("credential_sealed", BLOB, nullable=False),
        sa.Column("credential_digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("deleted_at", TIMESTAMP, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("event_sequence", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_keys")),
        **MARIADB,
    )
    op.create_index(
        "ix_billing_keys_tenant_newest", "billing_keys", ["tenant_id", "created_at", "id"]
    )
    op.create_index(
        "ix_billing_keys_account_digest", "billing_keys", ["pg_account_id", "credential_digest"]
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("pg_account_id", sa.String(length=64), nullable=False),
        sa.Column("customer_key", sa.String(length=300), nullable=False),
        sa.Column("billing_key_id", sa.String(length=64), nullable=False),
        sa.Column("plan", sa.String(length=100), nullable=False),
        sa.Column("order_name", sa.String(length=200), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("interval", sa.String(length=8), nullable=False),
        sa.Column("interval_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("anchor", TIMESTAMP, nullable=False),
        sa.Column("anchor_serial", sa.Integer(), nullable=False),
        sa.Column("current_period_start", TIMESTAMP, nullable=False),
        sa.Column("current_period_end", TIMESTAMP, nullable=False),
        sa.Column("next_charge_at", TIMESTAMP, nullable=True),
        sa.Column("trial_end", TIMESTAMP, nullable=True),
        sa.Column("charge_serial", sa.Integer(), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("first_refused_at", TIMESTAMP, nullable=True),
        sa.Column("charging_payment_id", sa.String(length=64), nullable=True),
        sa.Column("latest_payment_id", sa.String(length=64), nullable=True),
        sa.Column("cancel_at_period_end", sa.Boolean(), nullable=False),
        sa.Column("canceled_at", TIMESTAMP, nullable=True),
        sa.Column("cancel_reason", sa.String(length=200), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("event_sequence", sa.Integer(), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_subscriptions_amount_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
        **MARIADB,
    )
    op.create_index(
        "ix_subscriptions_tenant_newest", "subscriptions", ["tenant_id", "created_at", "id"]
    )
    op.create_index("ix_subscriptions_next_charge_at", "subscriptions", ["next_charge_at"])
    op.create_index("ix_subscriptions_billing_key", "subscriptions", ["billing_key_id"])


def downgrade() -> None:
    op.drop_table("subscriptions")
    op.drop_table("billing_keys")
    op.drop_index("ix_payments_subscription", table_name="payments")
    op.drop_column("payments", "subscription_id")
    op.drop_column("payments", "billing_key_id")
