"""Webhook deliveries count their repeats; stored secrets and refund accounts are masked

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 23:40:00

Deliveries stored before this revision keep a virtual account's `secret` and refund accounts as
they arrived. They are rewritten here the way new deliveries are stored (the secret as its sha256
digest, which is all the processor compares; accounts masked). A body that is not a JSON object is
left as it is.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BLOB = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")
deliveries = sa.table("webhook_deliveries", sa.column("id", sa.String), sa.column("body", BLOB))
BATCH = 500

# Frozen copies of sunap.application.webhook_storage's rules: a revision must not change when
# that module does.
MASKED_OBJECTS = frozenset({"refundReceiveAccount", "refundAccount"})
MASKED_FIELDS = frozenset({"cardNumber", "accountNumber", "holderName", "customerIdentityNumber"})


def upgrade() -> None:
    op.add_column(
        "webhook_deliveries",
        sa.Column("duplicates", sa.Integer(), nullable=False, server_default="0"),
    )
    conn = op.get_bind()
    last = ""
    while True:
        rows = conn.execute(
            sa.select(deliveries.c.id, deliveries.c.body)
            .where(deliveries.c.id > last)
            .order_by(deliveries.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        for delivery_id, body in rows:
            masked = _masked_body(bytes(body))
            if masked is not None and masked != bytes(body):
                conn.execute(
                    deliveries.update()
                    .where(deliveries.c.id == delivery_id)
                    .values(body=_blob(conn, masked))
                )
        last = rows[-1][0]


def downgrade() -> None:
    op.drop_column("webhook_deliveries", "duplicates")


def _blob(conn: sa.Connection, value: bytes) -> Any:
    """Bytes as a bound value; on MariaDB as hex text the server decodes: aiomysql cannot escape
    bytes parameters with PyMySQL >= 1.2 (the service's own Blob column type does the same)."""
    if conn.dialect.name == "mysql":
        return sa.func.unhex(value.hex())
    return value


def _masked_body(body: bytes) -> bytes | None:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    if not isinstance(parsed, dict):
        return None
    return json.dumps(_mask(parsed, inside_account=False), ensure_ascii=False).encode()


def _mask(value: Any, *, inside_account: bool) -> Any:
    if isinstance(value, dict):
        masked: dict[str, Any] = {}
        for key, item in value.items():
            if key == "secret" and isinstance(item, str):
                masked[key] = (
                    item
                    if item.startswith("sha256:")
                    else "sha256:" + hashlib.sha256(item.encode()).hexdigest()
                )
            elif isinstance(item, str) and (
                key in MASKED_FIELDS and (inside_account or key == "cardNumber")
            ):
                keep = 4 if len(item) > 8 else 0
                masked[key] = "*" * (len(item) - keep) + item[len(item) - keep :]
            else:
                masked[key] = _mask(item, inside_account=inside_account or key in MASKED_OBJECTS)
        return masked
    if isinstance(value, list):
        return [_mask(item, inside_account=inside_account) for item in value]
    return value
