"""Orders and payment keys unique per Toss account; tenants may have their own account

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 23:30:00

Toss knows an orderId and a paymentKey per merchant account, and tenants may share one account.
Before this revision Sunap held orderId unique per tenant only, so two tenants on the shared account
could hold one orderId (and, through it, one Toss payment). Such duplicates cannot be given the new
uniqueness, and which of them Toss's payment belongs to cannot be decided by a program:

- every payment of a duplicate group is flagged `needs_review`, with the reason and an audit row;
- the first of the group (approved before unapproved, then the oldest) keeps the account;
- the others are quarantined: their account becomes `quarantined:<payment id>`, an account that
  does not exist, so nothing automatic calls Toss about them again. A person decides.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of sunap.adapters.sql.columns: a revision must not change when that module does.
TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
BLOB = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")
DEFAULT_ACCOUNT = "default"
QUARANTINE = "quarantined:"
APPROVED = ("DONE", "PARTIAL_CANCELED", "CANCELED", "WAITING_FOR_DEPOSIT")

payments = sa.table(
    "payments",
    sa.column("id", sa.String),
    sa.column("tenant_id", sa.String),
    sa.column("pg_account_id", sa.String),
    sa.column("order_id", sa.String),
    sa.column("payment_key", sa.String),
    sa.column("status", sa.String),
    sa.column("created_at", TIMESTAMP),
    sa.column("needs_review", sa.Boolean),
    sa.column("review_reason", sa.Text),
    sa.column("next_reconcile_at", TIMESTAMP),
)
audit_entries = sa.table(
    "audit_entries",
    sa.column("id", sa.String),
    sa.column("tenant_id", sa.String),
    sa.column("payment_id", sa.String),
    sa.column("type", sa.String),
    sa.column("status", sa.String),
    sa.column("request_data", sa.JSON),
    sa.column("response_data", sa.JSON),
    sa.column("created_at", TIMESTAMP),
)
webhook_deliveries = sa.table("webhook_deliveries", sa.column("dedup_key", sa.String))


def upgrade() -> None:
    op.create_table(
        "pg_accounts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("secret_key_sealed", BLOB, nullable=False),
        sa.Column("client_key", sa.String(length=200), nullable=True),
        sa.Column("webhook_secret_sealed", BLOB, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pg_accounts")),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    op.add_column("tenants", sa.Column("pg_account_id", sa.String(length=64), nullable=True))
    op.add_column(
        "payments",
        sa.Column(
            "pg_account_id", sa.String(length=64), nullable=False, server_default=DEFAULT_ACCOUNT
        ),
    )
    op.add_column(
        "webhook_deliveries",
        sa.Column(
            "pg_account_id", sa.String(length=64), nullable=False, server_default=DEFAULT_ACCOUNT
        ),
    )
    prefix = sa.literal(DEFAULT_ACCOUNT + ":", sa.String)
    op.execute(
        webhook_deliveries.update().values(dedup_key=prefix + webhook_deliveries.c.dedup_key)
    )

    _quarantine_duplicates(op.get_bind())

    op.drop_index("ix_payments_payment_key", table_name="payments")
    op.create_index(
        "ux_payments_account_order", "payments", ["pg_account_id", "order_id"], unique=True
    )
    op.create_index(
        "ux_payments_account_payment_key", "payments", ["pg_account_id", "payment_key"], unique=True
    )


def downgrade() -> None:
    op.drop_index("ux_payments_account_payment_key", table_name="payments")
    op.drop_index("ux_payments_account_order", table_name="payments")
    op.create_index("ix_payments_payment_key", "payments", ["payment_key"], unique=False)
    stripped = sa.func.substr(webhook_deliveries.c.dedup_key, len(DEFAULT_ACCOUNT) + 2)
    op.execute(
        webhook_deliveries.update()
        .where(webhook_deliveries.c.dedup_key.like(DEFAULT_ACCOUNT + ":%"))
        .values(dedup_key=stripped)
    )
    op.drop_column("webhook_deliveries", "pg_account_id")
    op.drop_column("payments", "pg_account_id")
    op.drop_column("tenants", "pg_account_id")
    op.drop_table("pg_accounts")


def _quarantine_duplicates(conn: sa.Connection) -> None:
    rows = [
        dict(r)
        for r in conn.execute(
            sa.select(
                payments.c.id,
                payments.c.tenant_id,
                payments.c.order_id,
                payments.c.payment_key,
                payments.c.status,
                payments.c.created_at,
            ).where(payments.c.pg_account_id == DEFAULT_ACCOUNT)
        ).mappings()
    ]
    groups: list[list[dict[str, Any]]] = []
    for field in ("order_id", "payment_key"):
        by_value: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            if row[field] is not None:
                by_value[row[field]].append(row)
        groups += [group for group in by_value.values() if len(group) > 1]
    flagged: dict[str, str] = {}
    quarantined: set[str] = set()
    for group in groups:
        group.sort(key=lambda r: (r["status"] not in APPROVED, r["created_at"], r["id"]))
        holder, others = group[0], group[1:]
        shared = ", ".join(r["id"] for r in group)
        reason = (
            f"Before migration 0002, payments {shared} of different tenants shared an orderId or "
            "paymentKey on one Toss account, which holds one payment per orderId. "
            f"{holder['id']} keeps the account; the others are quarantined: nothing automatic "
            "calls Toss about them. Check each against Toss's console."
        )
        for row in group:
            flagged.setdefault(row["id"], reason)
        quarantined |= {r["id"] for r in others}
    now = datetime.now(UTC)
    by_id = {r["id"]: r for r in rows}
    for payment_id, reason in flagged.items():
        values: dict[str, Any] = {"needs_review": True, "review_reason": reason}
        if payment_id in quarantined:
            values |= {"pg_account_id": QUARANTINE + payment_id, "next_reconcile_at": None}
        conn.execute(payments.update().where(payments.c.id == payment_id).values(**values))
        conn.execute(
            audit_entries.insert().values(
                id=f"aud_{uuid.uuid4().hex}",
                tenant_id=by_id[payment_id]["tenant_id"],
                payment_id=payment_id,
                type="migration.shared_order",
                status="quarantined" if payment_id in quarantined else "flagged",
                request_data=None,
                response_data={"reason": reason},
                created_at=now,
            )
        )
