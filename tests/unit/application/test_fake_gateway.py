"""The fake Toss behaves like Toss where our use cases depend on it."""

from __future__ import annotations

import asyncio

import pytest

from sunap.application.ports.gateway import (
    GatewayAlreadyProcessed,
    GatewayDeclined,
    GatewayNotFound,
    GatewayUnknown,
    RefundAccount,
)
from sunap.domain.payment import PaymentMethod, PaymentStatus
from tests.fakes.clock import FakeClock
from tests.fakes.gateway import FakeGateway

S = PaymentStatus


@pytest.fixture
def toss() -> FakeGateway:
    return FakeGateway(FakeClock())


async def test_a_confirm_approves_the_payment_from_the_window(toss: FakeGateway) -> None:
    key = toss.pay_in_window("order-0001", 15000)
    paid = await toss.confirm(
        payment_key=key, order_id="order-0001", amount=15000, idempotency_key="k1"
    )
    assert (paid.status, paid.total_amount, paid.balance_amount) == (S.DONE, 15000, 15000)
    assert paid.exchange is not None and paid.exchange.outcome == "ok"
    assert (await toss.lookup_by_order_id("order-0001")).status is S.DONE


async def test_a_repeated_key_replays_the_first_answer_even_for_another_payment(
    toss: FakeGateway,
) -> None:
    first = toss.pay_in_window("order-0001", 15000)
    second = toss.pay_in_window("order-0002", 9000)
    a = await toss.confirm(
        payment_key=first, order_id="order-0001", amount=15000, idempotency_key="k"
    )
    b = await toss.confirm(
        payment_key=second, order_id="order-0002", amount=9000, idempotency_key="k"
    )
    assert b == a  # Toss scopes a key to the URL, not the body
    assert toss.payment(second).status is S.IN_PROGRESS
    assert len(toss.calls_of("confirm")) == 2
    assert len(toss.applied_of("confirm")) == 1


async def test_a_second_confirm_with_a_new_key_is_already_processed(toss: FakeGateway) -> None:
    key = toss.pay_in_window("order-0001", 15000)
    await toss.confirm(payment_key=key, order_id="order-0001", amount=15000, idempotency_key="a")
    with pytest.raises(GatewayAlreadyProcessed):
        await toss.confirm(
            payment_key=key, order_id="order-0001", amount=15000, idempotency_key="b"
        )


async def test_a_payment_set_to_fail_is_declined_and_aborted(toss: FakeGateway) -> None:
    key = toss.pay_in_window("order-0001", 15000, fail_with="REJECT_CARD_PAYMENT")
    with pytest.raises(GatewayDeclined) as raised:
        await toss.confirm(
            payment_key=key, order_id="order-0001", amount=15000, idempotency_key="k"
        )
    assert raised.value.code == "REJECT_CARD_PAYMENT"
    assert raised.value.exchange is not None and raised.value.exchange.outcome == "declined"
    assert toss.payment(key).status is S.ABORTED


async def test_a_scripted_fault_changes_nothing_and_a_retry_goes_through(
    toss: FakeGateway,
) -> None:
    key = toss.pay_in_window("order-0001", 15000)
    toss.fail_next("confirm", GatewayUnknown("FAILED_INTERNAL_SYSTEM_PROCESSING", "5xx"))
    with pytest.raises(GatewayUnknown):
        await toss.confirm(
            payment_key=key, order_id="order-0001", amount=15000, idempotency_key="k"
        )
    assert toss.payment(key).status is S.IN_PROGRESS
    paid = await toss.confirm(
        payment_key=key, order_id="order-0001", amount=15000, idempotency_key="k"
    )
    assert paid.status is S.DONE


async def test_an_applied_call_whose_answer_is_lost_replays_on_retry(toss: FakeGateway) -> None:
    key = toss.pay_in_window("order-0001", 15000)
    toss.apply_then_fail("confirm")
    with pytest.raises(GatewayUnknown) as raised:
        await toss.confirm(
            payment_key=key, order_id="order-0001", amount=15000, idempotency_key="k"
        )
    assert raised.value.timed_out
    assert toss.payment(key).status is S.DONE
    again = await toss.confirm(
        payment_key=key, order_id="order-0001", amount=15000, idempotency_key="k"
    )
    assert again.status is S.DONE
    assert len(toss.applied_of("confirm")) == 1


async def test_partial_cancels_lower_the_balance_until_it_is_canceled(toss: FakeGateway) -> None:
    key = toss.pay_in_window("order-0001", 15000)
    await toss.confirm(payment_key=key, order_id="order-0001", amount=15000, idempotency_key="k")
    part = await toss.cancel(payment_key=key, reason="r", amount=5000, idempotency_key="c1")
    assert (part.status, part.balance_amount) == (S.PARTIAL_CANCELED, 10000)
    with pytest.raises(GatewayDeclined) as raised:
        await toss.cancel(payment_key=key, reason="r", amount=10001, idempotency_key="c2")
    assert raised.value.code == "NOT_CANCELABLE_AMOUNT"
    rest = await toss.cancel(payment_key=key, reason="r", amount=None, idempotency_key="c3")
    assert (rest.status, rest.balance_amount) == (S.CANCELED, 0)
    assert [c.amount for c in rest.cancels] == [5000, 10000]
    assert rest.last_transaction_key == rest.cancels[-1].transaction_key
    replay = await toss.cancel(payment_key=key, reason="r", amount=5000, idempotency_key="c1")
    assert replay == part


async def test_a_virtual_account_waits_then_needs_a_refund_account(toss: FakeGateway) -> None:
    key = toss.pay_in_window("order-0001", 15000, method=PaymentMethod.VIRTUAL_ACCOUNT)
    issued = await toss.confirm(
        payment_key=key, order_id="order-0001", amount=15000, idempotency_key="k"
    )
    assert issued.status is S.WAITING_FOR_DEPOSIT
    assert issued.deposit_secret is not None
    assert issued.exchange is not None and issued.deposit_secret not in repr(issued.exchange)
    toss.deposit(key)
    with pytest.raises(GatewayDeclined):
        await toss.cancel(payment_key=key, reason="r", amount=None, idempotency_key="c1")
    account = RefundAccount(bank="88", account_number="110123456789", holder_name="김토스")
    done = await toss.cancel(
        payment_key=key, reason="r", amount=None, idempotency_key="c2", refund_account=account
    )
    assert done.status is S.CANCELED


async def test_an_unknown_payment_is_not_found(toss: FakeGateway) -> None:
    with pytest.raises(GatewayNotFound):
        await toss.lookup_by_order_id("order-missing")
    with pytest.raises(GatewayNotFound):
        await toss.cancel(payment_key="nope", reason="r", amount=None, idempotency_key="k")


async def test_every_call_is_recorded_with_its_idempotency_key(toss: FakeGateway) -> None:
    seen: list[str | None] = []
    toss.on_call(lambda call: seen.append(call.idempotency_key))
    key = toss.pay_in_window("order-0001", 15000)
    await toss.confirm(payment_key=key, order_id="order-0001", amount=15000, idempotency_key="k")
    await toss.lookup_by_payment_key(key)
    assert [(c.operation, c.idempotency_key) for c in toss.calls] == [
        ("confirm", "k"),
        ("lookup", None),
    ]
    assert seen == ["k", None]


async def test_a_held_call_waits_for_the_test_to_release_it(toss: FakeGateway) -> None:
    key = toss.pay_in_window("order-0001", 15000)
    gate = toss.hold("confirm")
    call = asyncio.create_task(
        toss.confirm(payment_key=key, order_id="order-0001", amount=15000, idempotency_key="k")
    )
    await gate.arrived.wait()
    assert toss.payment(key).status is S.IN_PROGRESS
    gate.release()
    assert (await call).status is S.DONE


async def test_a_billing_key_charges_only_its_own_customer(toss: FakeGateway) -> None:
    auth = toss.register_card("cust_1")
    billing = await toss.issue_billing_key(
        auth_key=auth, customer_key="cust_1", idempotency_key="i1"
    )
    charged = await toss.charge_billing_key(
        billing_key=billing.billing_key,
        customer_key="cust_1",
        order_id="sub-0001-2026-01",
        order_name="Monthly",
        amount=9900,
        idempotency_key="b1",
    )
    assert charged.status is S.DONE
    assert charged.exchange is not None
    assert billing.billing_key not in repr(charged.exchange)
    with pytest.raises(GatewayDeclined):
        await toss.charge_billing_key(
            billing_key=billing.billing_key,
            customer_key="cust_2",
            order_id="sub-0002-2026-01",
            order_name="Monthly",
            amount=9900,
            idempotency_key="b2",
        )
    await toss.delete_billing_key(billing.billing_key)
    with pytest.raises(GatewayNotFound):
        await toss.delete_billing_key(billing.billing_key)
