"""The hosted checkout's return from the payment window, against the fake Toss: confirmed on the
server once, whatever the browser repeats; a failure never overrides a payment that is paid."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from sunap.application.checkout_links import CheckoutLinks, LinkCheck
from sunap.application.commands import CreatePayment, ResolveReview
from sunap.application.create_payment import create_payment
from sunap.application.deps import Deps
from sunap.application.hosted_checkout import (
    LinkRefused,
    NotPaid,
    Paid,
    Pending,
    complete_checkout,
    payment_for_link,
    window_failed,
)
from sunap.application.ports.gateway import GatewayUnknown
from sunap.application.resolve_review import resolve_review
from sunap.domain.errors import NotUnderReview
from sunap.domain.payment import Payment, PaymentStatus
from tests.fakes.clock import FakeClock
from tests.fakes.gateway import FakeGateway
from tests.fakes.uow import InMemoryStore

S = PaymentStatus
LINKS = CheckoutLinks(b"k" * 32, ttl=timedelta(hours=1))


async def ready(deps: Deps, amount: int = 15000) -> Payment:
    command = CreatePayment(
        tenant_id="tenant_a",
        pg_account_id="default",
        order_name="Blue socks",
        amount=amount,
        order_id="order-0001",
    )
    return await create_payment(command, deps)


async def test_a_link_opens_its_payment_and_nothing_else(deps: Deps, clock: FakeClock) -> None:
    payment = await ready(deps)
    token = LINKS.token(payment, clock.now())
    assert (await payment_for_link(payment.id, token, LINKS, deps)).id == payment.id
    with pytest.raises(LinkRefused) as unknown:
        await payment_for_link("pay_nobody", token, LINKS, deps)
    assert unknown.value.check is LinkCheck.INVALID
    clock.advance(timedelta(hours=2))
    with pytest.raises(LinkRefused) as expired:
        await payment_for_link(payment.id, token, LINKS, deps)
    assert expired.value.check is LinkCheck.EXPIRED
    # The window's return takes a link that expired while the customer paid; never a forged one.
    returned = await payment_for_link(payment.id, token, LINKS, deps, expired_ok=True)
    assert returned.id == payment.id
    with pytest.raises(LinkRefused):
        await payment_for_link(payment.id, token + "x", LINKS, deps, expired_ok=True)


async def test_an_approved_window_is_confirmed_once_however_often_it_comes_back(
    deps: Deps, toss: FakeGateway
) -> None:
    payment = await ready(deps)
    key = toss.pay_in_window("order-0001", 15000)
    outcomes = [
        await complete_checkout(
            payment, payment_key=key, order_id="order-0001", amount=15000, deps=deps
        )
        for _ in range(3)
    ]
    assert all(isinstance(o, Paid) and o.payment.status is S.DONE for o in outcomes)
    assert len(toss.calls_of("confirm")) == 1


async def test_a_double_click_waits_for_the_first_confirm_instead_of_sending_another(
    deps: Deps, toss: FakeGateway
) -> None:
    payment = await ready(deps)
    key = toss.pay_in_window("order-0001", 15000)
    gate = toss.hold("confirm")

    async def come_back() -> object:
        return await complete_checkout(
            payment, payment_key=key, order_id="order-0001", amount=15000, deps=deps
        )

    first = asyncio.create_task(come_back())
    await asyncio.sleep(0.05)
    second = asyncio.create_task(come_back())
    await asyncio.sleep(0.3)
    gate.release()
    results = await asyncio.gather(first, second)
    assert all(isinstance(r, Paid) for r in results)
    assert len(toss.calls_of("confirm")) == 1


async def test_a_real_return_behind_a_made_up_ones_confirm_is_tried_with_its_own_key(
    deps: Deps, toss: FakeGateway
) -> None:
    """A made-up paymentKey's return is confirming (Toss slow) when the customer's real one
    arrives: the made-up key leaves the payment READY, and the real return's key then pays it,
    instead of being answered with the made-up one's INVALID_PAYMENT_KEY."""
    payment = await ready(deps)
    key = toss.pay_in_window("order-0001", 15000)
    gate = toss.hold("confirm")

    async def come_back(payment_key: str) -> object:
        return await complete_checkout(
            payment, payment_key=payment_key, order_id="order-0001", amount=15000, deps=deps
        )

    made_up = asyncio.create_task(come_back("made-up-key"))
    await gate.arrived.wait()
    real = asyncio.create_task(come_back(key))
    await asyncio.sleep(0.3)
    gate.release()
    bogus, paid = await asyncio.gather(made_up, real)
    assert isinstance(bogus, NotPaid) and bogus.code == "INVALID_PAYMENT_KEY"
    assert isinstance(paid, Paid) and paid.payment.status is S.DONE
    assert [c.payment_key for c in toss.calls_of("confirm")] == ["made-up-key", key]


async def test_a_tampered_amount_is_refused_without_calling_toss(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await ready(deps)
    key = toss.pay_in_window("order-0001", 15000)
    outcome = await complete_checkout(
        payment, payment_key=key, order_id="order-0001", amount=100, deps=deps
    )
    assert isinstance(outcome, NotPaid) and outcome.code == "AMOUNT_MISMATCH"
    assert outcome.payment.status is S.READY
    assert toss.calls_of("confirm") == []
    assert "confirm.amount_mismatch" in [e.type for e in store.audit_of(payment.id)]


async def test_another_orders_id_in_the_return_is_refused_without_calling_toss(
    deps: Deps, toss: FakeGateway
) -> None:
    payment = await ready(deps)
    outcome = await complete_checkout(
        payment, payment_key="tpk_x", order_id="order-9999", amount=15000, deps=deps
    )
    assert isinstance(outcome, NotPaid) and outcome.code == "INVALID_REQUEST"
    assert toss.calls_of("confirm") == []


async def test_a_refusal_is_not_paid_with_the_pgs_code(deps: Deps, toss: FakeGateway) -> None:
    payment = await ready(deps)
    key = toss.pay_in_window("order-0001", 15000, fail_with="REJECT_CARD_PAYMENT")
    outcome = await complete_checkout(
        payment, payment_key=key, order_id="order-0001", amount=15000, deps=deps
    )
    assert isinstance(outcome, NotPaid)
    assert (outcome.code, outcome.pg_code) == ("PG_REJECTED", "REJECT_CARD_PAYMENT")
    assert outcome.payment.status is S.ABORTED


async def test_an_answer_toss_did_not_give_is_pending_never_failed(
    deps: Deps, toss: FakeGateway
) -> None:
    payment = await ready(deps)
    key = toss.pay_in_window("order-0001", 15000)
    toss.fail_next("confirm", GatewayUnknown("timeout", "no answer"))
    outcome = await complete_checkout(
        payment, payment_key=key, order_id="order-0001", amount=15000, deps=deps
    )
    assert isinstance(outcome, Pending)
    assert outcome.payment.status is S.IN_PROGRESS


async def test_a_failure_reported_after_the_payment_was_paid_leaves_it_paid(
    deps: Deps, toss: FakeGateway
) -> None:
    payment = await ready(deps)
    key = toss.pay_in_window("order-0001", 15000)
    await complete_checkout(
        payment, payment_key=key, order_id="order-0001", amount=15000, deps=deps
    )
    outcome = await window_failed(payment, "PAY_PROCESS_ABORTED", "window closed", deps)
    assert isinstance(outcome, Paid) and outcome.payment.status is S.DONE


async def test_a_second_tabs_approval_of_a_paid_order_ends_on_the_success_page_unconfirmed(
    deps: Deps, toss: FakeGateway
) -> None:
    """Two tabs, two windows approved: the second return (ALREADY_PROCESSED_PAYMENT, another
    paymentKey) went to the fail page, inviting the customer to pay a paid order again."""
    payment = await ready(deps)
    first = toss.pay_in_window("order-0001", 15000)
    second = toss.pay_in_window("order-0001", 15000)
    await complete_checkout(
        payment, payment_key=first, order_id="order-0001", amount=15000, deps=deps
    )
    outcome = await complete_checkout(
        payment, payment_key=second, order_id="order-0001", amount=15000, deps=deps
    )
    assert isinstance(outcome, Paid)
    assert (outcome.payment.status, outcome.payment.payment_key) == (S.DONE, first)
    assert [c.payment_key for c in toss.calls_of("confirm")] == [first]


async def test_a_window_given_up_leaves_the_payment_ready_to_try_again(deps: Deps) -> None:
    payment = await ready(deps)
    outcome = await window_failed(payment, "PAY_PROCESS_CANCELED", "canceled", deps)
    assert isinstance(outcome, NotPaid) and outcome.code == "PAY_PROCESS_CANCELED"
    assert outcome.payment.status is S.READY


async def test_resolving_a_review_leaves_an_audit_row_with_the_note_and_the_reason(
    deps: Deps, store: InMemoryStore
) -> None:
    payment = await ready(deps)
    async with deps.uow() as uow:
        flagged = await uow.payments.get("tenant_a", payment.id, for_update=True)
        assert flagged is not None
        flagged.flag_for_review("Toss's record names another amount", deps.clock.now())
        await uow.commit()
    command = ResolveReview("tenant_a", payment.id, "  refunded by hand  ", "dashboard:key_1")
    resolved = await resolve_review(command, deps)
    assert not resolved.needs_review
    row = store.audit_of(payment.id)[-1]
    assert row.type == "review.resolved"
    assert row.request_data == {"note": "refunded by hand", "resolvedBy": "dashboard:key_1"}
    assert row.response_data == {"reviewReason": "Toss's record names another amount"}
    with pytest.raises(NotUnderReview):
        await resolve_review(command, deps)
