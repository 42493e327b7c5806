"""Migration 0002 on a database that already holds what it forbids: two tenants on the shared Toss
account with one orderId, or one paymentKey. Nothing is deleted or guessed; every payment of such a
group is flagged for a person, the first keeps the account, the others are quarantined."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from sunap.adapters.sql.columns import Blob, Json, UtcDateTime
from sunap.adapters.sql.engine import create_engine
from sunap.adapters.sql.migrate import downgrade_async, upgrade_async

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)

TYPES: dict[str, Any] = {
    "created_at": UtcDateTime,
    "updated_at": UtcDateTime,
    "next_reconcile_at": UtcDateTime,
    "received_at": UtcDateTime,
    "headers": Json,
    "body": Blob,
}

# The tables as revision 0001 made them (only the columns these rows need).
payments_0001 = sa.table(
    "payments",
    *(
        sa.column(name, TYPES.get(name))
        for name in (
            "id",
            "tenant_id",
            "order_id",
            "order_name",
            "amount",
            "currency",
            "status",
            "balance_amount",
            "pending_cancel_amount",
            "created_at",
            "updated_at",
            "payment_key",
            "needs_review",
            "next_reconcile_at",
            "reconcile_attempts",
            "version",
            "event_sequence",
        )
    ),
)
deliveries_0001 = sa.table(
    "webhook_deliveries",
    *(
        sa.column(name, TYPES.get(name))
        for name in (
            "id",
            "dedup_key",
            "event_type",
            "headers",
            "body",
            "received_at",
            "status",
            "attempts",
        )
    ),
)


def payment(
    id: str, tenant: str, order: str, status: str, key: str | None, minutes: int
) -> dict[str, Any]:
    at = T0 + timedelta(minutes=minutes)
    return {
        "id": id,
        "tenant_id": tenant,
        "order_id": order,
        "order_name": "socks",
        "amount": 15000,
        "currency": "KRW",
        "status": status,
        "balance_amount": 15000,
        "pending_cancel_amount": 0,
        "created_at": at,
        "updated_at": at,
        "payment_key": key,
        "needs_review": False,
        "next_reconcile_at": at if status == "IN_PROGRESS" else None,
        "reconcile_attempts": 0,
        "version": 1,
        "event_sequence": 1,
    }


ROWS = [
    # b took over a's payment: same orderId, same paymentKey.
    payment("pay_a", "tnt_a", "order-shared-1", "DONE", "tpk_shared", 0),
    payment("pay_b", "tnt_b", "order-shared-1", "DONE", "tpk_shared", 5),
    # Two READY payments of one orderId: the older one keeps it.
    payment("pay_d", "tnt_d", "order-shared-2", "READY", None, 7),
    payment("pay_c", "tnt_c", "order-shared-2", "READY", None, 3),
    # A claim of another order's paymentKey, stuck IN_PROGRESS: the approved one keeps the key.
    payment("pay_f", "tnt_f", "order-f", "IN_PROGRESS", "tpk_e", 1),
    payment("pay_e", "tnt_e", "order-e", "DONE", "tpk_e", 2),
    payment("pay_g", "tnt_g", "order-g", "DONE", "tpk_g", 0),  # nothing shared: untouched
]


async def _rows(url: str, query: str) -> list[dict[str, Any]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return [dict(r) for r in (await conn.execute(sa.text(query))).mappings()]
    finally:
        await engine.dispose()


async def test_shared_orders_and_keys_are_flagged_and_all_but_the_first_quarantined(
    empty_database_url: str,
) -> None:
    url = empty_database_url
    await upgrade_async(url, "0001")
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(payments_0001.insert(), ROWS)
            await conn.execute(
                deliveries_0001.insert().values(
                    id="whd_1",
                    dedup_key="psc:tpk_g:DONE:None",
                    event_type="PAYMENT_STATUS_CHANGED",
                    headers={},
                    body=b"{}",
                    received_at=T0,
                    status="APPLIED",
                    attempts=1,
                )
            )
    finally:
        await engine.dispose()

    await upgrade_async(url)

    rows = await _rows(
        url, "SELECT id, pg_account_id, needs_review, next_reconcile_at FROM payments"
    )
    account = {r["id"]: r["pg_account_id"] for r in rows}
    assert account == {
        "pay_a": "default",
        "pay_b": "quarantined:pay_b",
        "pay_c": "default",
        "pay_d": "quarantined:pay_d",
        "pay_e": "default",
        "pay_f": "quarantined:pay_f",
        "pay_g": "default",
    }
    flagged = {r["id"] for r in rows if r["needs_review"]}
    assert flagged == {"pay_a", "pay_b", "pay_c", "pay_d", "pay_e", "pay_f"}
    assert next(r for r in rows if r["id"] == "pay_f")["next_reconcile_at"] is None
    trail = await _rows(url, "SELECT payment_id, type, status FROM audit_entries")
    assert sorted((t["payment_id"], t["status"]) for t in trail) == [
        ("pay_a", "flagged"),
        ("pay_b", "quarantined"),
        ("pay_c", "flagged"),
        ("pay_d", "quarantined"),
        ("pay_e", "flagged"),
        ("pay_f", "quarantined"),
    ]
    assert {t["type"] for t in trail} == {"migration.shared_order"}
    [delivery] = await _rows(url, "SELECT dedup_key, pg_account_id FROM webhook_deliveries")
    assert delivery == {"dedup_key": "default:psc:tpk_g:DONE:None", "pg_account_id": "default"}

    # The new rule holds from now on: the shared account's orderIds are taken.
    engine = create_engine(url)
    try:
        with pytest.raises(IntegrityError):
            async with engine.begin() as conn:
                again = payment("pay_h", "tnt_h", "order-g", "READY", None, 9)
                await conn.execute(payments_0001.insert(), [again])
    finally:
        await engine.dispose()

    await downgrade_async(url, "0001")
    [delivery] = await _rows(url, "SELECT dedup_key FROM webhook_deliveries")
    assert delivery["dedup_key"] == "psc:tpk_g:DONE:None"
