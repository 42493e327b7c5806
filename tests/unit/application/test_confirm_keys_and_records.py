"""Confirm rules 2, 8 and 9 (docs/api.md): a paymentKey that is not this order's never blocks the
order and never reaches another payment; a window opened for another amount is the customer's
amount mismatch; a PG record that disagrees with ours is never adopted."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import pytest

from sunap.application.commands import ConfirmPayment, CreatePayment
from sunap.application.confirm_payment import KEY_HELD_WAIT_SECONDS, confirm_payment
from sunap.application.confirm_verdicts import Disagrees, judge_record
from sunap.application.create_payment import create_payment
from sunap.application.deps import Deps
from sunap.application.errors import InvalidPaymentKey, PgMismatch, PgUnavailable
from sunap.application.outcomes import apply_confirm_verdict
from sunap.application.ports.gateway import GatewayUnknown, PgOperation
from sunap.application.reconcile import reconcile_due
from sunap.domain.errors import AmountMismatch, ConfirmInProgress
from sunap.domain.payment import Payment, PaymentStatus
from tests.fakes.clock import FakeClock
from tests.fakes.gateway import FakeGateway
from tests.fakes.uow import InMemoryStore

S = PaymentStatus


async def ready(
    deps: Deps, order_id: str = "order-0001", tenant: str = "tenant_a", amount: int = 15000
) -> Payment:
    return await create_payment(
        CreatePayment(tenant, "default", "Blue socks", amount, order_id=order_id), deps
    )


def confirming(
    payment_key: str, order_id: str = "order-0001", tenant: str = "tenant_a", amount: int = 15000
) -> ConfirmPayment:
    return ConfirmPayment(tenant, payment_key, order_id, amount)


async def test_a_made_up_payment_key_sends_the_payment_back_to_ready_and_the_real_one_goes_through(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await ready(deps)
    with pytest.raises(InvalidPaymentKey) as refused:
        await confirm_payment(confirming("tpk_made_up_by_an_attacker"), deps)
    assert (refused.value.code, refused.value.pg_code) == (
        "INVALID_PAYMENT_KEY",
        "NOT_FOUND_PAYMENT",
    )
    released = store.payment(payment.id)
    assert released.status is S.READY
    assert released.payment_key is None and released.next_reconcile_at is None
    assert [a.type for a in store.audit_of(payment.id)][-2:] == ["pg.confirm", "confirm.released"]

    real = toss.pay_in_window("order-0001", 15000)
    confirmed = await confirm_payment(confirming(real), deps)
    assert confirmed.status is S.DONE and confirmed.payment_key == real
    first, second = toss.calls_of("confirm")
    assert first.idempotency_key != second.idempotency_key  # the PG replays a reused key


async def test_the_key_of_an_expired_window_sends_the_payment_back_to_ready(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await ready(deps)
    stale = toss.pay_in_window("order-0001", 15000)
    toss.expire(stale)
    with pytest.raises(InvalidPaymentKey) as refused:
        await confirm_payment(confirming(stale), deps)
    assert refused.value.pg_code == "NOT_FOUND_PAYMENT_SESSION"
    assert store.payment(payment.id).status is S.READY


async def test_a_key_another_payment_holds_is_refused_before_any_pg_call(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    await ready(deps, "order-a-0001", tenant="tenant_a")
    key = toss.pay_in_window("order-a-0001", 15000)
    await confirm_payment(confirming(key, "order-a-0001", tenant="tenant_a"), deps)
    theirs = await ready(deps, "order-b-0001", tenant="tenant_b")
    calls = len(toss.calls)

    with pytest.raises(InvalidPaymentKey) as refused:
        await confirm_payment(confirming(key, "order-b-0001", tenant="tenant_b"), deps)
    assert refused.value.pg_code is None
    assert len(toss.calls) == calls
    assert store.payment(theirs.id).status is S.READY
    assert store.by_order_id("tenant_a", "order-a-0001") is not None


async def test_the_key_of_a_payment_the_pg_approved_for_another_order_is_refused(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    """The PG answers ALREADY_PROCESSED_PAYMENT; its record of the key names another order."""
    elsewhere = toss.pay_in_window("order-elsewhere", 15000)
    await toss.confirm(
        payment_key=elsewhere, order_id="order-elsewhere", amount=15000, idempotency_key="x"
    )
    payment = await ready(deps)
    with pytest.raises(InvalidPaymentKey) as refused:
        await confirm_payment(confirming(elsewhere), deps)
    assert refused.value.pg_code == "ALREADY_PROCESSED_PAYMENT"
    after = store.payment(payment.id)
    assert after.status is S.READY and after.card is None and after.payment_key is None
    assert [e.type for e in store.events_of(payment.id)] == ["payment.created"]
    lookup = next(a for a in store.audit_of(payment.id) if a.type == "pg.lookup")
    # The caller's trail keeps that the key was looked up, not what the PG said of that order
    # (another tenant's, on a shared account: its name, amount and card).
    assert "order-elsewhere" not in str(lookup.response_data)
    assert lookup.response_data is not None and "withheld" in lookup.response_data["body"]


async def test_the_key_of_another_orders_window_is_refused(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    """The PG refuses the confirm as invalid; its record of the key names another order."""
    other_window = toss.pay_in_window("order-other", 15000)
    payment = await ready(deps)
    with pytest.raises(InvalidPaymentKey):
        await confirm_payment(confirming(other_window), deps)
    assert store.payment(payment.id).status is S.READY
    assert toss.payment(other_window).status is S.IN_PROGRESS  # the other order is untouched


async def test_a_window_opened_for_another_amount_is_refused_as_a_mismatch_and_flags_nothing(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, caplog: pytest.LogCaptureFixture
) -> None:
    """The customer's browser opened the window for 100 (it runs the page's script) and came back
    with the order's real amount: the PG refuses our confirm and its record of the key is an
    unapproved window. Nothing moved, so this is the customer's amount mismatch, not a PG
    mismatch for a person: it used to flag the payment (the review queue, its alert, an ERROR
    line), which anyone holding a checkout link could do to any order, and the flag outlived
    the honest payment that followed."""
    payment = await ready(deps)
    tampered = toss.pay_in_window("order-0001", 100)
    with caplog.at_level(logging.INFO), pytest.raises(AmountMismatch) as refused:
        await confirm_payment(confirming(tampered), deps)
    assert refused.value.code == "AMOUNT_MISMATCH"
    after = store.payment(payment.id)
    assert after.status is S.READY and after.payment_key is None  # the claim is released
    assert not after.needs_review and after.review_reason is None
    assert after.next_reconcile_at is None
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    # Both calls to Toss are in the trail (the refused confirm, the look-up that judged it),
    # then the release, which names the window's amount.
    trail = store.audit_of(payment.id)
    assert [e.type for e in trail if e.type.startswith("pg.")] == ["pg.confirm", "pg.lookup"]
    released = trail[-1]
    assert (released.type, released.status) == ("confirm.released", "rejected")
    assert released.response_data is not None and released.response_data["pgAmount"] == 100
    assert [e.type for e in store.events_of(payment.id)] == ["payment.created"]

    real = toss.pay_in_window("order-0001", 15000)
    paid = await confirm_payment(confirming(real), deps)
    assert paid.status is S.DONE and not paid.needs_review
    assert toss.payment(tampered).status is S.IN_PROGRESS  # Toss approved nothing of it


async def test_the_reconciler_releases_a_window_of_another_amount_whose_answer_was_lost(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    """The same judged by the reconciler (the confirm's answer never came): released, unflagged."""
    payment = await ready(deps)
    tampered = toss.pay_in_window("order-0001", 100)
    toss.fail_next("confirm", GatewayUnknown("READ_TIMEOUT", "lost", timed_out=True))
    with pytest.raises(Exception, match="did not answer in time"):
        await confirm_payment(confirming(tampered), deps)
    assert store.payment(payment.id).status is S.IN_PROGRESS

    clock.advance(seconds=60)
    await reconcile_due(deps)
    released = store.payment(payment.id)
    assert released.status is S.READY and not released.needs_review
    assert released.next_reconcile_at is None


async def test_a_window_toss_approved_for_another_amount_is_a_mismatch_for_a_person(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, caplog: pytest.LogCaptureFixture
) -> None:
    """The same window, but confirmed at Toss for its 100 (not by us): money moved that
    disagrees with ours. That stays PG_MISMATCH, flagged and logged at ERROR (docs/api.md,
    Confirm rules, rule 9)."""
    payment = await ready(deps)
    tampered = toss.pay_in_window("order-0001", 100)
    await toss.confirm(payment_key=tampered, order_id="order-0001", amount=100, idempotency_key="x")
    with caplog.at_level(logging.ERROR), pytest.raises(PgMismatch) as mismatch:
        await confirm_payment(confirming(tampered), deps)
    assert mismatch.value.code == "PG_MISMATCH"
    after = store.payment(payment.id)
    assert after.needs_review and "100 KRW" in (after.review_reason or "")
    assert after.status is S.IN_PROGRESS and after.next_reconcile_at is None
    assert any(r.levelno == logging.ERROR for r in caplog.records)


async def test_an_approved_record_that_disagrees_stays_in_progress_for_a_person(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await ready(deps)
    key = toss.pay_in_window("order-0001", 15000)
    toss.fail_next("confirm", GatewayUnknown("FAILED_INTERNAL_SYSTEM_PROCESSING", "500"))
    with pytest.raises(PgUnavailable):
        await confirm_payment(confirming(key), deps)
    claimed = store.payment(payment.id)
    await toss.confirm(payment_key=key, order_id="order-0001", amount=15000, idempotency_key="x")
    record = dataclasses.replace(toss.payment(key), total_amount=150000)

    verdict = judge_record(claimed, record)
    assert isinstance(verdict, Disagrees) and verdict.approved
    after = await apply_confirm_verdict(claimed, verdict, deps, PgOperation.LOOKUP)
    assert after.status is S.IN_PROGRESS  # money may have moved: never back to READY
    assert after.needs_review and after.next_reconcile_at is None
    assert [e.type for e in store.events_of(payment.id)] == ["payment.created"]


async def test_the_reconciler_releases_a_made_up_key_whose_confirm_answer_was_lost(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    payment = await ready(deps)
    toss.fail_next("confirm", GatewayUnknown("READ_TIMEOUT", "lost", timed_out=True))
    with pytest.raises(Exception, match="did not answer in time"):
        await confirm_payment(confirming("tpk_made_up"), deps)
    assert store.payment(payment.id).status is S.IN_PROGRESS

    clock.advance(seconds=60)
    await reconcile_due(deps)
    released = store.payment(payment.id)
    assert released.status is S.READY and released.next_reconcile_at is None
    real = toss.pay_in_window("order-0001", 15000)
    assert (await confirm_payment(confirming(real), deps)).status is S.DONE


async def test_a_key_held_by_another_orders_unanswered_claim_is_waited_for_then_confirmed(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    """Another tenant on the same Toss account claims its own order with this order's key: while
    Toss has not answered that claim, the key's own order waits instead of being told the key is
    not its own, and is confirmed once Toss refused the other claim."""
    mine = await ready(deps, "order-a-0001", tenant="tenant_a")
    await ready(deps, "order-b-0001", tenant="tenant_b")
    key = toss.pay_in_window("order-a-0001", 15000)
    gate = toss.hold("confirm")
    attacker = asyncio.create_task(
        confirm_payment(confirming(key, "order-b-0001", tenant="tenant_b"), deps)
    )
    await gate.arrived.wait()

    async def toss_answers_the_other_claim(seconds: float) -> None:
        gate.release()
        with pytest.raises(InvalidPaymentKey):
            await attacker

    waiting = dataclasses.replace(deps, sleep=toss_answers_the_other_claim)
    confirmed = await confirm_payment(confirming(key, "order-a-0001", tenant="tenant_a"), waiting)
    assert confirmed.id == mine.id
    assert confirmed.status is S.DONE and confirmed.payment_key == key
    other = store.by_order_id("tenant_b", "order-b-0001")
    assert other is not None and other.status is S.READY and other.payment_key is None


async def test_a_key_held_by_a_claim_toss_never_answers_is_409_in_progress_and_changes_nothing(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    mine = await ready(deps, "order-a-0001", tenant="tenant_a")
    await ready(deps, "order-b-0001", tenant="tenant_b")
    key = toss.pay_in_window("order-a-0001", 15000)
    gate = toss.hold("confirm")
    attacker = asyncio.create_task(
        confirm_payment(confirming(key, "order-b-0001", tenant="tenant_b"), deps)
    )
    await gate.arrived.wait()
    calls = len(toss.calls)

    with pytest.raises(ConfirmInProgress) as refused:
        await confirm_payment(confirming(key, "order-a-0001", tenant="tenant_a"), deps)
    assert refused.value.code == "CONFIRM_IN_PROGRESS"
    assert sum(clock.slept) >= KEY_HELD_WAIT_SECONDS
    assert len(toss.calls) == calls  # nothing sent for this order
    assert store.payment(mine.id).status is S.READY

    gate.release()
    with pytest.raises(InvalidPaymentKey):
        await attacker
    retried = await confirm_payment(confirming(key, "order-a-0001", tenant="tenant_a"), deps)
    assert retried.status is S.DONE
