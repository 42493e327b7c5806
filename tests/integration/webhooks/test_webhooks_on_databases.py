"""Intake and processor on each real database, with the Toss client talking to the sandbox over
HTTP: the deposit secret is checked against what is stored, the same change stored once, and two
processors running at once apply it once."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.sql.tables import outbox
from sunap.adapters.sql.webhook_inbox import SqlWebhookInbox
from sunap.application.commands import ConfirmPayment, CreatePayment
from sunap.application.confirm_payment import confirm_payment
from sunap.application.create_payment import create_payment
from sunap.application.deps import Deps
from sunap.application.pg_accounts import PgAccount
from sunap.application.ports.webhook_inbox import DeliveryStatus
from sunap.application.webhook_intake import WebhookRejected, receive_toss_webhook
from sunap.application.webhook_processing import process_due_webhooks
from sunap.domain.payment import Payment, PaymentStatus
from tests.support.sandbox_fixtures import deps_on_sandbox
from tests.support.sandbox_server import SANDBOX_SECRET_KEY

ACCOUNT = PgAccount("default", SANDBOX_SECRET_KEY)


@pytest.fixture
async def deps(fresh_engine: AsyncEngine, sandbox_url: str) -> AsyncIterator[Deps]:
    async with deps_on_sandbox(fresh_engine, sandbox_url) as deps:
        yield deps


async def waiting_account(deps: Deps, toss: httpx.AsyncClient) -> Payment:
    order_id = f"order-{uuid.uuid4().hex[:16]}"
    await create_payment(
        CreatePayment(
            tenant_id="tenant_wh",
            pg_account_id="default",
            order_name="책",
            amount=12000,
            order_id=order_id,
        ),
        deps,
    )
    window = await toss.post(
        "/sandbox/payments",
        json={"orderId": order_id, "amount": 12000, "method": "VIRTUAL_ACCOUNT"},
    )
    key = window.json()["paymentKey"]
    return await confirm_payment(
        ConfirmPayment(tenant_id="tenant_wh", payment_key=key, order_id=order_id, amount=12000),
        deps,
    )


def deposit_callback(payment: Payment, secret: str, transaction_key: str) -> bytes:
    body: dict[str, Any] = {
        "createdAt": "2026-01-15T09:00:00.000000",
        "secret": secret,
        "status": "DONE",
        "transactionKey": transaction_key,
        "orderId": payment.order_id,
    }
    return json.dumps(body).encode()


async def test_a_deposit_is_checked_stored_once_and_applied_once_by_two_processors(
    deps: Deps, toss: httpx.AsyncClient, fresh_engine: AsyncEngine
) -> None:
    inbox = SqlWebhookInbox(fresh_engine)
    payment = await waiting_account(deps, toss)
    assert payment.status is PaymentStatus.WAITING_FOR_DEPOSIT and payment.payment_key
    with pytest.raises(WebhookRejected) as forged:
        await receive_toss_webhook(
            deposit_callback(payment, "ps_guess", "tx-forged"), {}, inbox, deps, ACCOUNT
        )
    assert forged.value.status == 401
    assert await inbox.recent(10) == []

    paid = await toss.post(f"/sandbox/virtual-accounts/{payment.payment_key}/deposit")
    assert paid.status_code == 200, paid.text
    toss_view = (await toss.get(f"/v1/payments/{payment.payment_key}")).json()
    body = deposit_callback(payment, toss_view["secret"], toss_view["lastTransactionKey"])
    receipts = await asyncio.gather(
        *(
            receive_toss_webhook(body, {}, inbox, deps, PgAccount("default", SANDBOX_SECRET_KEY))
            for _ in range(3)
        )
    )
    assert sorted(r.duplicate for r in receipts) == [False, True, True]

    async def drain() -> None:
        while await process_due_webhooks(inbox, deps):
            pass

    await asyncio.gather(drain(), drain())
    (stored,) = await inbox.recent(10)
    assert stored.status is DeliveryStatus.APPLIED and stored.attempts == 1
    assert stored.payment_id == payment.id
    async with deps.uow() as uow:
        after = await uow.payments.get("tenant_wh", payment.id)
        trail = await uow.audit.list_for_payment("tenant_wh", payment.id)
    assert after is not None and after.status is PaymentStatus.DONE
    assert [a.status for a in trail if a.type == "webhook.DEPOSIT_CALLBACK"].count("applied") == 1
    assert toss_view["secret"] not in json.dumps([(a.request_data, a.response_data) for a in trail])
    async with fresh_engine.connect() as conn:
        completed = await conn.scalar(
            select(func.count())
            .select_from(outbox)
            .where(outbox.c.aggregateid == payment.id, outbox.c.type == "payment.completed")
        )
    assert completed == 1


async def test_payments_are_found_by_order_id_within_their_pg_account_only(
    deps: Deps, toss: httpx.AsyncClient
) -> None:
    payment = await waiting_account(deps, toss)
    async with deps.uow() as uow:
        found = await uow.payments.get_by_account_order("default", payment.order_id)
        other_account = await uow.payments.get_by_account_order("tenant_x", payment.order_id)
        nobody = await uow.payments.get_by_account_order("default", "order-nobody-has")
    assert found is not None and found.id == payment.id
    assert found.deposit_secret_digest == payment.deposit_secret_digest
    assert other_account is None and nobody is None
