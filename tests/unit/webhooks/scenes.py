"""Payments and webhook bodies for the webhook tests: built through the real use cases against
the fake Toss, so the stored secret digest, payment key and statuses are what production has."""

from __future__ import annotations

import json
from typing import Any

from sunap.application.commands import ConfirmPayment, CreatePayment
from sunap.application.confirm_payment import confirm_payment
from sunap.application.create_payment import create_payment
from sunap.application.deps import Deps
from sunap.domain.payment import Payment, PaymentMethod
from tests.fakes.gateway import FakeGateway

TENANT = "tenant_a"


async def confirmed(
    deps: Deps,
    toss: FakeGateway,
    *,
    order_id: str = "order-0001",
    amount: int = 15000,
    method: PaymentMethod = PaymentMethod.CARD,
) -> Payment:
    await create_payment(
        CreatePayment(
            tenant_id=TENANT,
            pg_account_id="default",
            order_name="Blue socks",
            amount=amount,
            order_id=order_id,
        ),
        deps,
    )
    key = toss.pay_in_window(order_id, amount, method=method)
    return await confirm_payment(
        ConfirmPayment(tenant_id=TENANT, payment_key=key, order_id=order_id, amount=amount), deps
    )


async def waiting_for_deposit(
    deps: Deps, toss: FakeGateway, order_id: str = "order-va-01"
) -> Payment:
    return await confirmed(deps, toss, order_id=order_id, method=PaymentMethod.VIRTUAL_ACCOUNT)


def status_changed(payment_key: str, status: str, **data: Any) -> bytes:
    body = {
        "eventType": "PAYMENT_STATUS_CHANGED",
        "createdAt": "2026-01-15T09:00:00.000000",
        "data": {"paymentKey": payment_key, "status": status, **data},
    }
    return json.dumps(body).encode()


def deposit_callback(
    order_id: str, secret: str, status: str = "DONE", transaction_key: str = "txk_deposit"
) -> bytes:
    body = {
        "createdAt": "2026-01-15T09:00:00.000000",
        "secret": secret,
        "status": status,
        "transactionKey": transaction_key,
        "orderId": order_id,
    }
    return json.dumps(body).encode()
