"""What every PaymentGateway must do, whoever implements it."""

from __future__ import annotations

import uuid

import pytest

from sunap.application.ports.gateway import (
    GatewayAlreadyProcessed,
    GatewayDeclined,
    GatewayNotFound,
)
from sunap.domain.payment import PaymentMethod, PaymentStatus
from tests.contract.gateway_under_test import GatewayUnderTest

CARD = PaymentMethod.CARD


def _order_id() -> str:
    return f"order-{uuid.uuid4().hex[:20]}"


async def test_a_confirm_returns_the_approved_payment(gateway_under_test: GatewayUnderTest) -> None:
    gateway, pay_in_window = gateway_under_test
    order_id = _order_id()
    payment_key = await pay_in_window(order_id, 15000, CARD, None)
    payment = await gateway.confirm(
        payment_key=payment_key, order_id=order_id, amount=15000, idempotency_key=f"c:{order_id}"
    )
    assert payment.status is PaymentStatus.DONE
    assert (payment.payment_key, payment.order_id) == (payment_key, order_id)
    assert (payment.total_amount, payment.balance_amount, payment.currency) == (15000, 15000, "KRW")
    assert payment.method is PaymentMethod.CARD
    assert payment.approved_at is not None


async def test_a_virtual_account_confirm_waits_for_deposit_with_a_secret(
    gateway_under_test: GatewayUnderTest,
) -> None:
    gateway, pay_in_window = gateway_under_test
    order_id = _order_id()
    payment_key = await pay_in_window(order_id, 20000, PaymentMethod.VIRTUAL_ACCOUNT, None)
    payment = await gateway.confirm(
        payment_key=payment_key, order_id=order_id, amount=20000, idempotency_key=f"c:{order_id}"
    )
    assert payment.status is PaymentStatus.WAITING_FOR_DEPOSIT
    assert payment.method is PaymentMethod.VIRTUAL_ACCOUNT
    assert payment.deposit_secret
    assert payment.virtual_account is not None


async def test_a_refused_card_is_declined_with_the_pg_code(
    gateway_under_test: GatewayUnderTest,
) -> None:
    gateway, pay_in_window = gateway_under_test
    order_id = _order_id()
    payment_key = await pay_in_window(order_id, 15000, CARD, "REJECT_CARD_PAYMENT")
    with pytest.raises(GatewayDeclined) as caught:
        await gateway.confirm(
            payment_key=payment_key,
            order_id=order_id,
            amount=15000,
            idempotency_key=f"c:{order_id}",
        )
    assert caught.value.code == "REJECT_CARD_PAYMENT"


async def test_looking_up_an_unknown_order_is_not_found(
    gateway_under_test: GatewayUnderTest,
) -> None:
    gateway, _ = gateway_under_test
    with pytest.raises(GatewayNotFound):
        await gateway.lookup_by_order_id(_order_id())


async def test_a_look_up_shows_what_the_confirm_did(gateway_under_test: GatewayUnderTest) -> None:
    gateway, pay_in_window = gateway_under_test
    order_id = _order_id()
    payment_key = await pay_in_window(order_id, 7000, CARD, None)
    confirmed = await gateway.confirm(
        payment_key=payment_key, order_id=order_id, amount=7000, idempotency_key=f"c:{order_id}"
    )
    by_order = await gateway.lookup_by_order_id(order_id)
    by_key = await gateway.lookup_by_payment_key(payment_key)
    for found in (by_order, by_key):
        assert (found.payment_key, found.status, found.total_amount) == (
            confirmed.payment_key,
            PaymentStatus.DONE,
            7000,
        )


async def test_the_same_idempotency_key_replays_and_a_new_one_is_already_processed(
    gateway_under_test: GatewayUnderTest,
) -> None:
    gateway, pay_in_window = gateway_under_test
    order_id = _order_id()
    payment_key = await pay_in_window(order_id, 15000, CARD, None)
    first = await gateway.confirm(
        payment_key=payment_key, order_id=order_id, amount=15000, idempotency_key=f"c:{order_id}"
    )
    again = await gateway.confirm(
        payment_key=payment_key, order_id=order_id, amount=15000, idempotency_key=f"c:{order_id}"
    )
    assert (again.payment_key, again.status, again.approved_at) == (
        first.payment_key,
        first.status,
        first.approved_at,
    )
    with pytest.raises(GatewayAlreadyProcessed):
        await gateway.confirm(
            payment_key=payment_key,
            order_id=order_id,
            amount=15000,
            idempotency_key=f"n:{order_id}",
        )


async def test_a_partial_cancel_lowers_the_balance_and_the_last_one_cancels(
    gateway_under_test: GatewayUnderTest,
) -> None:
    gateway, pay_in_window = gateway_under_test
    order_id = _order_id()
    payment_key = await pay_in_window(order_id, 10000, CARD, None)
    await gateway.confirm(
        payment_key=payment_key, order_id=order_id, amount=10000, idempotency_key=f"c:{order_id}"
    )
    partial = await gateway.cancel(
        payment_key=payment_key, reason="part", amount=4000, idempotency_key=f"x1:{order_id}"
    )
    assert partial.status is PaymentStatus.PARTIAL_CANCELED
    assert partial.balance_amount == 6000
    assert [cancel.amount for cancel in partial.cancels] == [4000]
    rest = await gateway.cancel(
        payment_key=payment_key, reason="rest", amount=None, idempotency_key=f"x2:{order_id}"
    )
    assert rest.status is PaymentStatus.CANCELED
    assert rest.balance_amount == 0
    assert sum(cancel.amount for cancel in rest.cancels) == 10000


async def test_cancelling_more_than_the_balance_is_declined(
    gateway_under_test: GatewayUnderTest,
) -> None:
    gateway, pay_in_window = gateway_under_test
    order_id = _order_id()
    payment_key = await pay_in_window(order_id, 10000, CARD, None)
    await gateway.confirm(
        payment_key=payment_key, order_id=order_id, amount=10000, idempotency_key=f"c:{order_id}"
    )
    with pytest.raises(GatewayDeclined):
        await gateway.cancel(
            payment_key=payment_key,
            reason="too much",
            amount=10001,
            idempotency_key=f"x:{order_id}",
        )
    still = await gateway.lookup_by_payment_key(payment_key)
    assert still.balance_amount == 10000
