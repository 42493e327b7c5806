"""While the PG is known to be down, new confirms and cancels fail fast and claim nothing."""

from __future__ import annotations

import pytest

from sunap.application.cancel_payment import cancel_payment
from sunap.application.commands import CancelPayment, ConfirmPayment, CreatePayment
from sunap.application.confirm_payment import confirm_payment
from sunap.application.create_payment import create_payment
from sunap.application.deps import Deps
from sunap.application.errors import PgUnavailable
from sunap.domain.payment import PaymentStatus
from tests.fakes.gateway import FakeGateway
from tests.fakes.uow import InMemoryStore


async def test_a_confirm_while_the_pg_is_down_leaves_the_payment_ready_and_calls_nothing(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    gateway = toss
    payment = await create_payment(
        CreatePayment("t1", "default", "물", 1000, order_id="order-down-1"), deps
    )
    key = gateway.pay_in_window("order-down-1", 1000)
    gateway.down = True
    with pytest.raises(PgUnavailable):
        await confirm_payment(ConfirmPayment("t1", key, "order-down-1", 1000), deps)
    assert store.payment(payment.id).status is PaymentStatus.READY
    assert gateway.calls == []


async def test_a_ready_payment_can_still_be_canceled_locally_while_the_pg_is_down(
    deps: Deps, toss: FakeGateway
) -> None:
    gateway = toss
    payment = await create_payment(
        CreatePayment("t1", "default", "물", 1000, order_id="order-down-2"), deps
    )
    gateway.down = True
    canceled = await cancel_payment(CancelPayment("t1", payment.id, "changed mind"), deps)
    assert canceled.status is PaymentStatus.CANCELED


async def test_a_paid_payment_is_not_reserved_for_a_cancel_while_the_pg_is_down(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    gateway = toss
    payment = await create_payment(
        CreatePayment("t1", "default", "물", 1000, order_id="order-down-3"), deps
    )
    key = gateway.pay_in_window("order-down-3", 1000)
    await confirm_payment(ConfirmPayment("t1", key, "order-down-3", 1000), deps)
    gateway.down = True
    with pytest.raises(PgUnavailable):
        await cancel_payment(CancelPayment("t1", payment.id, "r", amount=500), deps)
    stored = store.payment(payment.id)
    assert stored.pending_cancel_amount == 0 and stored.balance_amount == 1000
