"""Migration 0010 on a database that already holds subscriptions: each one's attempts at its
current period are counted from what it holds (its refusals, and the charge in flight), so that
a subscription stuck before (every resume refused as DUPLICATE_ORDER_ID) charges its next
attempt, and one in flight settles and retries under a new orderId."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from sunap.adapters.sql.engine import create_engine
from sunap.adapters.sql.migrate import upgrade_async
from sunap.adapters.sql.tables import subscriptions

T = datetime(2026, 11, 1, tzinfo=UTC)
# The table as 0009 left it: every column the code knows but the new one.
subscriptions_0009 = sa.table(
    "subscriptions",
    *(sa.column(c.name, c.type) for c in subscriptions.c if c.name != "charge_attempts"),
)


def row_0009(sub_id: str, status: str, failed: int, charging: str | None) -> dict[str, Any]:
    return {
        "id": sub_id,
        "tenant_id": "tnt_m",
        "pg_account_id": "default",
        "customer_key": "cust-m",
        "billing_key_id": "bk_m",
        "plan": "pro",
        "order_name": "Pro plan",
        "amount": 9900,
        "currency": "KRW",
        "interval": "month",
        "interval_count": 1,
        "status": status,
        "anchor": T,
        "anchor_serial": 0,
        "current_period_start": T,
        "current_period_end": T,
        "next_charge_at": None,
        "trial_end": None,
        "charge_serial": 1,
        "failed_attempts": failed,
        "first_refused_at": None,
        "charging_payment_id": charging,
        "latest_payment_id": None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "cancel_reason": None,
        "metadata": None,
        "created_at": T,
        "updated_at": T,
        "version": 1,
        "event_sequence": 1,
    }


async def test_existing_subscriptions_count_their_refusals_and_the_charge_in_flight(
    empty_database_url: str,
) -> None:
    url = empty_database_url
    await upgrade_async(url, "0009")
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                subscriptions_0009.insert(),
                [
                    row_0009("sub_paid", "ACTIVE", 0, None),
                    row_0009("sub_stuck", "PAUSED", 1, None),  # resumes were refused: p1-a1
                    row_0009("sub_unpaid", "UNPAID", 4, None),
                    row_0009("sub_retrying", "PAST_DUE", 2, "pay_a3"),  # p1-a3 in flight
                ],
            )
    finally:
        await engine.dispose()

    await upgrade_async(url)

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            c = subscriptions.c
            found = dict((await conn.execute(sa.select(c.id, c.charge_attempts))).all())
    finally:
        await engine.dispose()
    assert found == {"sub_paid": 0, "sub_stuck": 1, "sub_unpaid": 4, "sub_retrying": 3}
