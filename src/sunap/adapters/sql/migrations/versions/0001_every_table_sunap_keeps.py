"""Every table Sunap keeps

Revision ID: 0001
Revises:
Create Date: 2026-11-21 22:33:55.588630
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of sunap.adapters.sql.columns: a revision must not change when that module does.
TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
BLOB = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")


def _create_table(name: str, *elements: sa.SchemaItem) -> None:
    # InnoDB for row locks; a binary collation so that keys and ids compare case-sensitively.
    op.create_table(
        name, *elements, mysql_engine="InnoDB", mysql_charset="utf8mb4", mysql_collate="utf8mb4_bin"
    )


def upgrade() -> None:
    _create_table(
        "audit_entries",
        sa.Column("seq", SERIAL, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("payment_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("request_data", sa.JSON(), nullable=True),
        sa.Column("response_data", sa.JSON(), nullable=True),
        sa.Column("processing_time_ms", sa.Integer(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_entries")),
        sa.UniqueConstraint("id", name=op.f("uq_audit_entries_id")),
    )
    op.create_index(
        "ix_audit_entries_payment",
        "audit_entries",
        ["tenant_id", "payment_id", "seq"],
        unique=False,
    )
    _create_table(
        "consumed_messages",
        sa.Column("subscriber", sa.String(length=200), nullable=False),
        sa.Column("message_key", sa.String(length=300), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("subscriber", "message_key", name="pk_consumed_messages"),
    )
    op.create_index(
        "ix_consumed_messages_received_at", "consumed_messages", ["received_at"], unique=False
    )
    _create_table(
        "idempotency_keys",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.String(length=300), nullable=False),
        sa.Column("fingerprint", sa.String(length=1024), nullable=False),
        sa.Column("recovery_point", sa.String(length=64), nullable=False),
        sa.Column("locked_until", TIMESTAMP, nullable=True),
        sa.Column("response_code", sa.Integer(), nullable=True),
        sa.Column("response_body", BLOB, nullable=True),
        sa.Column("response_content_type", sa.String(length=200), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint("idempotency_key <> ''", name=op.f("ck_idempotency_keys_key_not_empty")),
        sa.PrimaryKeyConstraint("tenant_id", "idempotency_key", name="pk_idempotency_keys"),
    )
    op.create_index(
        "ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"], unique=False
    )
    _create_table(
        "outbox",
        sa.Column("seq", SERIAL, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("aggregatetype", sa.String(length=64), nullable=False),
        sa.Column("aggregateid", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("published_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_outbox")),
        sa.UniqueConstraint("id", name=op.f("uq_outbox_id")),
    )
    op.create_index("ix_outbox_aggregate", "outbox", ["aggregateid", "seq"], unique=False)
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["published_at", "seq"],
        unique=False,
        postgresql_where=sa.text("published_at IS NULL"),
        sqlite_where=sa.text("published_at IS NULL"),
    )
    _create_table(
        "payments",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("order_name", sa.String(length=200), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("balance_amount", sa.BigInteger(), nullable=False),
        sa.Column("pending_cancel_amount", sa.BigInteger(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("method", sa.String(length=32), nullable=True),
        sa.Column("customer_key", sa.String(length=300), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=True),
        sa.Column("success_url", sa.Text(), nullable=True),
        sa.Column("fail_url", sa.Text(), nullable=True),
        sa.Column("payment_key", sa.String(length=200), nullable=True),
        sa.Column("requested_at", TIMESTAMP, nullable=True),
        sa.Column("approved_at", TIMESTAMP, nullable=True),
        sa.Column("card_company", sa.String(length=64), nullable=True),
        sa.Column("card_number", sa.String(length=64), nullable=True),
        sa.Column("card_type", sa.String(length=32), nullable=True),
        sa.Column("card_owner_type", sa.String(length=32), nullable=True),
        sa.Column("card_installment_plan_months", sa.Integer(), nullable=True),
        sa.Column("card_approve_no", sa.String(length=64), nullable=True),
        sa.Column("va_bank", sa.String(length=64), nullable=True),
        sa.Column("va_account_number", sa.String(length=64), nullable=True),
        sa.Column("va_customer_name", sa.String(length=200), nullable=True),
        sa.Column("va_due_date", sa.String(length=64), nullable=True),
        sa.Column("easy_pay_provider", sa.String(length=64), nullable=True),
        sa.Column("easy_pay_amount", sa.BigInteger(), nullable=True),
        sa.Column("easy_pay_discount_amount", sa.BigInteger(), nullable=True),
        sa.Column("failure_code", sa.String(length=100), nullable=True),
        sa.Column("failure_message", sa.Text(), nullable=True),
        sa.Column("receipt_url", sa.Text(), nullable=True),
        sa.Column("deposit_secret_digest", sa.String(length=128), nullable=True),
        sa.Column("confirm_idempotency_key", sa.String(length=300), nullable=True),
        sa.Column("needs_review", sa.Boolean(), nullable=False),
        sa.Column("review_reason", sa.Text(), nullable=True),
        sa.Column("next_reconcile_at", TIMESTAMP, nullable=True),
        sa.Column("reconcile_attempts", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("event_sequence", sa.Integer(), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payments_amount_positive")),
        sa.CheckConstraint(
            "balance_amount >= 0 AND balance_amount <= amount",
            name=op.f("ck_payments_balance_in_range"),
        ),
        sa.CheckConstraint(
            "pending_cancel_amount >= 0 AND pending_cancel_amount <= balance_amount",
            name=op.f("ck_payments_pending_cancel_in_range"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("tenant_id", "order_id", name="uq_payments_tenant_order"),
    )
    op.create_index(
        "ix_payments_next_reconcile_at", "payments", ["next_reconcile_at"], unique=False
    )
    op.create_index("ix_payments_payment_key", "payments", ["payment_key"], unique=False)
    op.create_index(
        "ix_payments_tenant_newest", "payments", ["tenant_id", "created_at", "id"], unique=False
    )
    _create_table(
        "tenants",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
        sa.UniqueConstraint("name", name=op.f("uq_tenants_name")),
    )
    _create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("dedup_key", sa.String(length=500), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("body", BLOB, nullable=False),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=True),
        sa.Column("leased_until", TIMESTAMP, nullable=True),
        sa.Column("payment_id", sa.String(length=64), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("processed_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_webhook_deliveries_dedup_key")),
    )
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["status", "next_attempt_at"],
        unique=False,
    )
    op.create_index(
        "ix_webhook_deliveries_received_at", "webhook_deliveries", ["received_at"], unique=False
    )
    _create_table(
        "api_keys",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("key_hash", sa.String(length=128), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_api_keys_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    _create_table(
        "payment_cancels",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("payment_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("tax_free_amount", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("gateway_idempotency_key", sa.String(length=300), nullable=False),
        sa.Column("requested_at", TIMESTAMP, nullable=False),
        sa.Column("canceled_at", TIMESTAMP, nullable=True),
        sa.Column("transaction_key", sa.String(length=200), nullable=True),
        sa.Column("failure_code", sa.String(length=100), nullable=True),
        sa.Column("failure_message", sa.Text(), nullable=True),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payment_cancels_amount_positive")),
        sa.CheckConstraint(
            "tax_free_amount >= 0", name=op.f("ck_payment_cancels_tax_free_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_payment_cancels_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_cancels")),
    )
    op.create_index(
        "ix_payment_cancels_payment", "payment_cancels", ["payment_id", "position"], unique=False
    )


def downgrade() -> None:
    # Dropping a table drops its indexes; MariaDB refuses to drop one a foreign key uses.
    op.drop_table("payment_cancels")
    op.drop_table("api_keys")
    op.drop_table("webhook_deliveries")
    op.drop_table("tenants")
    op.drop_table("payments")
    op.drop_table("outbox")
    op.drop_table("idempotency_keys")
    op.drop_table("consumed_messages")
    op.drop_table("audit_entries")
