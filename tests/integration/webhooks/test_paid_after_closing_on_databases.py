"""A payment the customer paid at Toss around the time Sunap closed it, on each real database, with
the Toss client talking to the sandbox over HTTP. Toss's record of the money wins:

- the READY expiry finds the order IN_PROGRESS at Toss (the customer authenticated; Toss lets
  it be confirmed for 10 more minutes): not expired then, asked again once Toss's window has
  closed, and expired only when Toss says so;
- a payment Sunap expired (Toss did not know the order then) or canceled unpaid, then confirmed
  at Toss directly with the secret key: Toss's PAYMENT_STATUS_CHANGED is matched by its orderId,
  Toss asked, and its approval adopted: DONE, flagged for review, `payment.completed`, an audit
  row; the merchant's refund then goes through the normal cancel.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.sql.tables import outbox
from sunap.adapters.sql.webhook_inbox import SqlWebhookInbox
from sunap.application.cancel_payment import cancel_payment
from sunap.application.commands import CancelPayment, ConfirmPayment, CreatePayment
from sunap.application.confirm_payment import confirm_payment
from sunap.application.create_payment import create_payment
from sunap.application.deps import Deps
from sunap.application.expire_unpaid import EXPIRY_RECHECK_AFTER, expire_unpaid
from sunap.application.pg_accounts import PgAccount
from sunap.application.ports.webhook_inbox import DeliveryStatus
from sunap.application.webhook_intake import receive_toss_webhook
from sunap.application.webhook_processing import process_due_webhooks
from sunap.domain.errors import NotConfirmableStatus
from sunap.domain.payment import Payment, PaymentStatus
from tests.fakes.clock import FakeClock
from tests.support.sandbox_fixtures import deps_on_sandbox
from tests.support.sandbox_server import SANDBOX_SECRET_KEY

ACCOUNT = PgAccount("default", SANDBOX_SECRET_KEY)
TENANT = "tenant_late"
TTL = timedelta(minutes=30)
S = PaymentStatus


@pytest.fixture
def clock() -> FakeClock:
    """Sunap's clock, moved by the test; Toss's is the sandbox's own."""
    return FakeClock(datetime.now(UTC))


@pytest.fixture
async def deps(
    fresh_engine: AsyncEngine, sandbox_url: str, clock: FakeClock
) -> AsyncIterator[Deps]:
    async with deps_on_sandbox(fresh_engine, sandbox_url, clock=clock) as deps:
        yield deps


async def new_payment(deps: Deps) -> Payment:
    order_id = f"order-{uuid.uuid4().hex[:16]}"
    return await create_payment(
        CreatePayment(TENANT, "default", "책", 10000, order_id=order_id), deps
    )


async def pay_in_window(toss: httpx.AsyncClient, payment: Payment) -> str:
    """The customer authenticates in Toss's window: Toss holds the order IN_PROGRESS."""
    window = await toss.post(
        "/sandbox/payments", json={"orderId": payment.order_id, "amount": payment.amount}
    )
    assert window.status_code in (200, 201), window.text
    return str(window.json()["paymentKey"])


async def confirm_at_toss(toss: httpx.AsyncClient, payment: Payment, key: str) -> dict[str, Any]:
    """The merchant's console, a second backend or a restored database confirms it at Toss."""
    body = {"paymentKey": key, "orderId": payment.order_id, "amount": payment.amount}
    direct = await toss.post("/v1/payments/confirm", json=body)
    assert direct.status_code == 200 and direct.json()["status"] == "DONE", direct.text
    return dict(direct.json())


async def deliver_status_changed(view: dict[str, Any], deps: Deps, inbox: SqlWebhookInbox) -> Any:
    """Toss's PAYMENT_STATUS_CHANGED, as Toss sends it (the whole Payment), then processed."""
    body = {"eventType": "PAYMENT_STATUS_CHANGED", "createdAt": view["approvedAt"], "data": view}
    receipt = await receive_toss_webhook(json.dumps(body).encode(), {}, inbox, deps, ACCOUNT)
    while await process_due_webhooks(inbox, deps):
        pass
    return await inbox.get(receipt.delivery_id or "")


async def reread(deps: Deps, payment: Payment) -> Payment:
    async with deps.uow() as uow:
        found = await uow.payments.get(TENANT, payment.id)
    assert found is not None
    return found


async def trail(deps: Deps, payment: Payment) -> list[tuple[str, str]]:
    async with deps.uow() as uow:
        rows = await uow.audit.list_for_payment(TENANT, payment.id)
    return [(str(a.type), str(a.status)) for a in rows]


async def events(engine: AsyncEngine, payment: Payment) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(outbox.c.type).where(outbox.c.aggregateid == payment.id).order_by(outbox.c.id)
        )
        return [row.type for row in rows]


async def test_the_expiry_waits_for_tosss_confirm_window_to_close_before_expiring(
    deps: Deps, toss: httpx.AsyncClient, clock: FakeClock, fresh_engine: AsyncEngine
) -> None:
    payment = await new_payment(deps)
    await pay_in_window(toss, payment)
    clock.advance(TTL + timedelta(seconds=1))

    assert await expire_unpaid(deps, TTL) == 0

    waiting = await reread(deps, payment)
    assert waiting.status is S.READY and not waiting.needs_review
    assert waiting.expiry_recheck_at == clock.now() + EXPIRY_RECHECK_AFTER
    assert (await trail(deps, payment))[-2:] == [
        ("pg.lookup", "ok"),
        ("payment.expiry_postponed", "ok"),
    ]
    assert await events(fresh_engine, payment) == ["payment.created"]
    clock.advance(EXPIRY_RECHECK_AFTER - timedelta(seconds=1))
    assert await expire_unpaid(deps, TTL) == 0  # not due: Toss is not asked again yet
    assert (await trail(deps, payment))[-1] == ("payment.expiry_postponed", "ok")

    # Toss's own 10 minutes pass unconfirmed: Toss expires the order, and so do we.
    moved = await toss.post("/sandbox/clock", json={"advanceSeconds": 11 * 60})
    assert moved.status_code == 200, moved.text
    clock.advance(timedelta(seconds=1))
    assert await expire_unpaid(deps, TTL) == 1

    assert (await reread(deps, payment)).status is S.EXPIRED
    assert await events(fresh_engine, payment) == ["payment.created", "payment.expired"]


@pytest.mark.parametrize("closed_by", ["expiry", "merchant cancel"])
async def test_an_approval_at_toss_after_sunap_closed_the_payment_unpaid_is_adopted_for_review(
    closed_by: str,
    deps: Deps,
    toss: httpx.AsyncClient,
    clock: FakeClock,
    fresh_engine: AsyncEngine,
) -> None:
    inbox = SqlWebhookInbox(fresh_engine)
    payment = await new_payment(deps)
    if closed_by == "expiry":
        clock.advance(TTL + timedelta(seconds=1))
        assert await expire_unpaid(deps, TTL) == 1  # Toss did not know the order yet
        closing_event = "payment.expired"
    else:
        await cancel_payment(CancelPayment(TENANT, payment.id, "고객 변심"), deps)
        closing_event = "payment.canceled"
    closed = await reread(deps, payment)
    assert closed.status in (S.EXPIRED, S.CANCELED) and closed.closed_unpaid

    key = await pay_in_window(toss, payment)  # the customer was still at it
    with pytest.raises(NotConfirmableStatus):  # the merchant's confirm through us: 409, unsent
        await confirm_payment(ConfirmPayment(TENANT, key, payment.order_id, 10000), deps)
    view = await confirm_at_toss(toss, payment, key)

    delivery = await deliver_status_changed(view, deps, inbox)

    assert delivery.status is DeliveryStatus.APPLIED and delivery.payment_id == payment.id
    paid = await reread(deps, payment)
    assert paid.status is S.DONE and paid.payment_key == key
    assert paid.balance_amount == 10000 and paid.approved_at is not None
    assert paid.needs_review and paid.review_reason is not None
    assert "approved at Toss after it was" in paid.review_reason
    assert await events(fresh_engine, payment) == [
        "payment.created",
        closing_event,
        "payment.completed",
    ]
    assert (await trail(deps, payment))[-2:] == [
        ("pg.lookup", "ok"),
        ("webhook.PAYMENT_STATUS_CHANGED", "applied"),
    ]

    refunded = await cancel_payment(CancelPayment(TENANT, payment.id, "주문 취소"), deps)
    assert refunded.status is S.CANCELED and refunded.balance_amount == 0
    assert (await toss.get(f"/v1/payments/{key}")).json()["status"] == "CANCELED"
