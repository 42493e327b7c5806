"""Payments and envelopes for the SQL tests: unique ids, aware datetimes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.sql.tables import outbox
from sunap.domain.events import PaymentEvent
from sunap.domain.payment import Approval, Payment, PaymentMethod, PaymentStatus
from tests.support.databases import unique

T0 = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)


def envelope(payment: Payment, event: PaymentEvent, tenant: str) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "tenant": tenant,
        "type": event.type,
        "subject": payment.id,
        "sequence": event.sequence,
        "data": {"status": payment.status.value, "balanceAmount": payment.balance_amount},
    }


def new_payment(
    tenant_id: str,
    *,
    amount: int = 15000,
    order_id: str | None = None,
    customer_key: str | None = None,
    created_at: datetime = T0,
    method: PaymentMethod | None = PaymentMethod.CARD,
    pg_account_id: str | None = None,
) -> Payment:
    return Payment.create(
        id=unique("pay"),
        tenant_id=tenant_id,
        # Tests share a database: each payment's account keeps its orderId and key apart.
        pg_account_id=pg_account_id or unique("acct"),
        order_id=order_id or unique("order"),
        order_name="Coffee beans 1kg",
        amount=amount,
        currency="KRW",
        now=created_at,
        method=method,
        customer_key=customer_key,
        metadata={"sku": "beans-1kg", "gift": True},
        success_url="https://shop.example/success",
        fail_url="https://shop.example/fail",
    )


def later(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def outbox_rows(engine: AsyncEngine, payment_id: str) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(outbox).where(outbox.c.aggregateid == payment_id).order_by(outbox.c.seq)
        )
        return [dict(r) for r in rows.mappings()]


def paid(payment: Payment, *refunds: int) -> Payment:
    """Approved by card, then refunded in parts, each part a cancel of its own."""
    key, now = unique("tpk"), payment.created_at
    payment.begin_confirm(payment_key=key, amount=payment.amount, idempotency_key=key, now=now)
    payment.approve(Approval(key, PaymentStatus.DONE, PaymentMethod.CARD, now), now)
    for amount in refunds:
        cancel = payment.begin_cancel(
            cancel_id=unique("cxl"),
            reason="broken",
            amount=amount,
            idempotency_key=unique("ik"),
            has_refund_account=False,
            now=now,
        )
        assert cancel is not None
        payment.complete_cancel(cancel.id, transaction_key=unique("tx"), canceled_at=now, now=now)
    return payment
