"""Every table Sunap keeps, as SQLAlchemy Core. The domain classes are mapped by hand, not by the ORM.

The initial Alembic revision creates exactly these; a test compares the two.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from .columns import Blob, Json, Money, Serial, UtcDateTime

ID = 64  # length of our ids (`pay_…`, `tnt_…`) and of Toss's keys we keep

# InnoDB for row locks; a binary collation so that keys and ids compare case-sensitively.
MARIADB: dict[str, Any] = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

tenants = Table(
    "tenants",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("pg_account_id", String(ID)),  # its own Toss account; NULL: the service's default one
    **MARIADB,
)

# A tenant's own Toss merchant account (the service's default account lives in the settings).
# Secrets are sealed with SUNAP_SECRETS_KEY; they are opened only in memory, to be used.
pg_accounts = Table(
    "pg_accounts",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("secret_key_sealed", Blob, nullable=False),
    Column("client_key", String(200)),
    Column("webhook_secret_sealed", Blob),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    **MARIADB,
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("tenant_id", String(ID), ForeignKey("tenants.id"), nullable=False),
    Column("key_hash", String(128), nullable=False, unique=True),
    Column("scopes", Json, nullable=False),  # sorted list of scope names
    Column("created_at", UtcDateTime, nullable=False),
    **MARIADB,
)

payments = Table(
    "payments",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("tenant_id", String(ID), nullable=False),
    Column("pg_account_id", String(ID), nullable=False),
    Column("order_id", String(ID), nullable=False),
    Column("order_name", String(200), nullable=False),
    Column("amount", Money, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(32), nullable=False),
    Column("balance_amount", Money, nullable=False),
    Column("pending_cancel_amount", Money, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("method", String(32)),
    Column("customer_key", String(300)),
    Column("metadata", Json),
    Column("success_url", Text),
    Column("fail_url", Text),
    Column("payment_key", String(200)),
    Column("requested_at", UtcDateTime),
    Column("approved_at", UtcDateTime),
    # Card, virtual account and easy pay: a group is present when any of its columns is set.
    Column("card_company", String(64)),
    Column("card_number", String(64)),  # masked as Toss masks it
    Column("card_type", String(32)),
    Column("card_owner_type", String(32)),
    Column("card_installment_plan_months", Integer),
    Column("card_approve_no", String(64)),
    Column("va_bank", String(64)),
    Column("va_account_number", String(64)),
    Column("va_customer_name", String(200)),
    Column("va_due_date", String(64)),
    Column("easy_pay_provider", String(64)),
    Column("easy_pay_amount", Money),
    Column("easy_pay_discount_amount", Money),
    Column("failure_code", String(100)),
    Column("failure_message", Text),
    Column("receipt_url", Text),
    Column("deposit_secret_digest", String(128)),
    Column("confirm_idempotency_key", String(300)),
    Column("needs_review", Boolean, nullable=False),
    Column("review_reason", Text),
    Column("next_reconcile_at", UtcDateTime),
    # A READY payment past its time to live that Toss still held open: asked about again then (0011).
    Column("expiry_recheck_at", UtcDateTime),
    # When the next cancel of this payment may go to the PG, which takes one a second (0008).
    Column("next_cancel_at", UtcDateTime),
    Column("reconcile_attempts", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("event_sequence", Integer, nullable=False),
    Column("billing_key_id", String(ID)),  # a charge of a stored card
    Column("subscription_id", String(ID)),  # one of a subscription's charges
    Column("tax_free_amount", Money, nullable=False, server_default="0"),  # 0009
    UniqueConstraint("tenant_id", "order_id", name="uq_payments_tenant_order"),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint("balance_amount >= 0 AND balance_amount <= amount", name="balance_in_range"),
    CheckConstraint(
        "pending_cancel_amount >= 0 AND pending_cancel_amount <= balance_amount",
        name="pending_cancel_in_range",
    ),
    Index("ix_payments_tenant_newest", "tenant_id", "created_at", "id"),
    # Pages filtered by status or customer, newest first (migration 0006).
    Index("ix_payments_tenant_status_newest", "tenant_id", "status", "created_at", "id"),
    Index("ix_payments_tenant_customer_newest", "tenant_id", "customer_key", "created_at", "id"),
    # The PG knows orders and payment keys per account: so do we, or one tenant's call could reach
    # another tenant's payment through a shared account.
    Index("ux_payments_account_order", "pg_account_id", "order_id", unique=True),
    Index("ux_payments_account_payment_key", "pg_account_id", "payment_key", unique=True),
    Index("ix_payments_next_reconcile_at", "next_reconcile_at"),
    Index("ix_payments_status_created_at", "status", "created_at"),  # READY ones to expire
    Index("ix_payments_subscription", "subscription_id", "created_at"),
    **MARIADB,
)

# A customer's stored card at Toss. Toss's billingKey is a credential: kept only sealed with
# SUNAP_SECRETS_KEY, and as a sha256 to recognise Toss's BILLING_DELETED notice.
billing_keys = Table(
    "billing_keys",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("tenant_id", String(ID), nullable=False),
    Column("pg_account_id", String(ID), nullable=False),
    Column("customer_key", String(300), nullable=False),
    Column("method", String(32), nullable=False),
    Column("card_company", String(64)),
    Column("card_number", String(64)),  # masked as Toss masks it
    Column("card_type", String(32)),
    Column("card_owner_type", String(32)),
    Column("status", String(16), nullable=False),
    Column("credential_sealed", Blob, nullable=False),
    Column("credential_digest", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("deleted_at", UtcDateTime),
    Column("version", Integer, nullable=False),
    Column("event_sequence", Integer, nullable=False),
    Index("ix_billing_keys_tenant_newest", "tenant_id", "created_at", "id"),
    Index("ix_billing_keys_account_digest", "pg_account_id", "credential_digest"),
    **MARIADB,
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("tenant_id", String(ID), nullable=False),
    Column("pg_account_id", String(ID), nullable=False),
    Column("customer_key", String(300), nullable=False),
    Column("billing_key_id", String(ID), nullable=False),
    Column("plan", String(100), nullable=False),
    Column("order_name", String(200), nullable=False),
    Column("amount", Money, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("interval", String(8), nullable=False),
    Column("interval_count", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("anchor", UtcDateTime, nullable=False),
    Column("anchor_serial", Integer, nullable=False),
    Column("current_period_start", UtcDateTime, nullable=False),
    Column("current_period_end", UtcDateTime, nullable=False),
    Column("next_charge_at", UtcDateTime),
    Column("trial_end", UtcDateTime),
    Column("charge_serial", Integer, nullable=False),
    Column("charge_attempts", Integer, nullable=False, server_default="0"),  # 0010
    Column("failed_attempts", Integer, nullable=False),
    Column("first_refused_at", UtcDateTime),
    Column("charging_payment_id", String(ID)),
    Column("latest_payment_id", String(ID)),
    Column("cancel_at_period_end", Boolean, nullable=False),
    Column("canceled_at", UtcDateTime),
    Column("cancel_reason", String(200)),
    Column("metadata", Json),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False),
    Column("event_sequence", Integer, nullable=False),
    CheckConstraint("amount > 0", name="amount_positive"),
    Index("ix_subscriptions_tenant_newest", "tenant_id", "created_at", "id"),
    Index("ix_subscriptions_next_charge_at", "next_charge_at"),
    Index("ix_subscriptions_billing_key", "billing_key_id"),
    **MARIADB,
)

payment_cancels = Table(
    "payment_cancels",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("payment_id", String(ID), ForeignKey("payments.id"), nullable=False),
    Column("position", Integer, nullable=False),  # order within the payment
    Column("amount", Money, nullable=False),
    Column("tax_free_amount", Money, nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("gateway_idempotency_key", String(300), nullable=False),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("canceled_at", UtcDateTime),
    Column("transaction_key", String(200)),
    Column("failure_code", String(100)),
    Column("failure_message", Text),
    Column("pg_key", String(16)),  # which PG secret key the call went under (Cancel.pg_key)
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint("tax_free_amount >= 0", name="tax_free_not_negative"),
    Index("ix_payment_cancels_payment", "payment_id", "position"),
    **MARIADB,
)

audit_entries = Table(
    "audit_entries",
    metadata,
    Column("seq", Serial, primary_key=True, autoincrement=True),
    Column("id", String(ID), nullable=False, unique=True),
    Column("tenant_id", String(ID), nullable=False),
    Column("payment_id", String(ID), nullable=False),
    Column("type", String(100), nullable=False),
    Column("status", String(32), nullable=False),
    Column("request_data", Json),
    Column("response_data", Json),
    Column("processing_time_ms", Integer),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_audit_entries_payment", "tenant_id", "payment_id", "seq"),
    **MARIADB,
)

# Debezium's outbox column names (id, aggregatetype, aggregateid, type, payload), so that a CDC
# connector can read this table as it is.
outbox = Table(
    "outbox",
    metadata,
    Column("seq", Serial, primary_key=True, autoincrement=True),  # relay order
    Column("id", String(ID), nullable=False, unique=True),  # CloudEvents id: consumers dedupe on it
    Column("aggregatetype", String(64), nullable=False),
    Column("aggregateid", String(ID), nullable=False),  # the broker's message key
    Column("type", String(100), nullable=False),
    Column("topic", String(200)),
    Column("payload", Json, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("published_at", UtcDateTime),
    Index(
        "ix_outbox_unpublished",
        "published_at",
        "seq",
        postgresql_where=text("published_at IS NULL"),
        sqlite_where=text("published_at IS NULL"),
    ),
    Index("ix_outbox_aggregate", "aggregateid", "seq"),
    **MARIADB,
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("tenant_id", String(ID), nullable=False),
    Column("idempotency_key", String(300), nullable=False),
    Column("fingerprint", String(1024), nullable=False),
    Column("recovery_point", String(64), nullable=False),
    Column("locked_until", UtcDateTime),  # in-flight guard; NULL once finished
    Column("response_code", Integer),
    Column("response_body", Blob),  # replayed byte for byte
    Column("response_content_type", String(200)),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "idempotency_key", name="pk_idempotency_keys"),
    CheckConstraint("idempotency_key <> ''", name="key_not_empty"),
    Index("ix_idempotency_keys_created_at", "created_at"),
    **MARIADB,
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("dedup_key", String(500), nullable=False, unique=True),  # starts with the account id
    Column("pg_account_id", String(ID), nullable=False),  # the Toss account that sent it
    Column("event_type", String(100), nullable=False),
    Column("headers", Json, nullable=False),
    Column("body", Blob, nullable=False),  # raw, as received
    Column("received_at", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime),
    Column("leased_until", UtcDateTime),  # a processor holds it until then
    Column("payment_id", String(ID)),
    Column("last_error", Text),
    Column("processed_at", UtcDateTime),
    Column("duplicates", Integer, nullable=False),  # identical deliveries that came again
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    Index("ix_webhook_deliveries_received_at", "received_at"),
    Index("ix_webhook_deliveries_payment_id", "payment_id"),
    **MARIADB,
)

consumed_messages = Table(
    "consumed_messages",
    metadata,
    Column("subscriber", String(200), nullable=False),
    Column("message_key", String(300), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("detail", Text),
    Column("received_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("subscriber", "message_key", name="pk_consumed_messages"),
    Index("ix_consumed_messages_received_at", "received_at"),
    **MARIADB,
)

# Dashboard sessions. The browser holds a random token; only its SHA-256 is kept here.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("api_key_id", String(ID), ForeignKey("api_keys.id"), nullable=False),
    Column("csrf_token", String(ID), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Index("ix_web_sessions_last_seen_at", "last_seen_at"),
    **MARIADB,
)
