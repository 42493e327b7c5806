"""The reconciler against the fake Toss: it learns the truth by itself, on a backoff schedule,
never marks a payment failed on a guess, books each refund against the request that made it,
and a payment no look-up could settle is handed to a person."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest

from sunap.adapters.toss.webhooks import TossWebhooks
from sunap.application.cancel_payment import cancel_payment
from sunap.application.commands import (
    CancelPayment,
    ConfirmPayment,
    CreatePayment,
    ResolveReview,
)
from sunap.application.confirm_payment import confirm_payment
from sunap.application.create_payment import create_payment
from sunap.application.deps import Deps
from sunap.application.errors import PgTimeout, PgUnavailable
from sunap.application.ports.gateway import GatewayDeclined, GatewayUnknown
from sunap.application.reconcile import ReconcileOutcome, reconcile_due, reconcile_payment
from sunap.application.resolve_review import resolve_review
from sunap.domain.payment import CancelStatus, Payment, PaymentStatus
from tests.fakes.clock import FakeClock
from tests.fakes.gateway import FakeGateway
from tests.fakes.uow import InMemoryStore

S = PaymentStatus
TENANT = "tenant_r"
DELAYS = tuple(timedelta(seconds=s) for s in (5, 10, 20))


def with_delays(deps: Deps, *seconds: float) -> Deps:
    """`deps` with the reconciler's schedule set to these waits."""
    return Deps(
        uow=deps.uow,
        accounts=deps.accounts,
        clock=deps.clock,
        ids=deps.ids,
        webhook_format=TossWebhooks(),
        reconcile_delays=tuple(timedelta(seconds=s) for s in seconds),
        sleep=deps.sleep,
    )


@pytest.fixture
def deps(deps: Deps) -> Deps:
    return with_delays(deps, *(d.total_seconds() for d in DELAYS))


def unknown(code: str = "FAILED_INTERNAL_SYSTEM_PROCESSING") -> GatewayUnknown:
    return GatewayUnknown(code, "no usable answer")


async def in_doubt(
    deps: Deps, toss: FakeGateway, amount: int = 10000, order: str = "order-r1"
) -> Payment:
    """A confirm whose answer was lost after Toss approved it."""
    payment = await create_payment(
        CreatePayment(
            tenant_id=TENANT,
            pg_account_id="default",
            order_name="socks",
            amount=amount,
            order_id=order,
        ),
        deps,
    )
    key = toss.pay_in_window(order, amount)
    toss.apply_then_fail("confirm")
    with pytest.raises(PgTimeout):
        await confirm_payment(ConfirmPayment(TENANT, key, order, amount), deps)
    return payment


async def paid(
    deps: Deps, amount: int = 10000, order: str = "order-r2"
) -> tuple[Payment, FakeGateway]:
    toss = await deps.accounts.gateway("default")
    assert isinstance(toss, FakeGateway)
    await create_payment(
        CreatePayment(
            tenant_id=TENANT,
            pg_account_id="default",
            order_name="socks",
            amount=amount,
            order_id=order,
        ),
        deps,
    )
    key = toss.pay_in_window(order, amount)
    payment = await confirm_payment(ConfirmPayment(TENANT, key, order, amount), deps)
    return payment, toss


def events(store: InMemoryStore, payment_id: str) -> list[str]:
    return [e.type for e in store.events_of(payment_id)]


async def test_nothing_is_asked_before_the_first_delay_has_passed(
    deps: Deps, toss: FakeGateway, clock: FakeClock
) -> None:
    await in_doubt(deps, toss)
    calls = len(toss.calls)
    clock.advance(seconds=4)
    assert await reconcile_due(deps) == {}
    assert len(toss.calls) == calls


async def test_a_lost_approval_is_adopted_from_a_look_up_without_a_second_confirm(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    payment = await in_doubt(deps, toss)
    clock.advance(seconds=5)
    assert await reconcile_due(deps) == {payment.id: ReconcileOutcome.SETTLED}
    settled = store.payment(payment.id)
    assert settled.status is S.DONE and settled.next_reconcile_at is None
    assert len(toss.calls_of("confirm")) == 1 and len(toss.applied_of("confirm")) == 1
    assert events(store, payment.id) == ["payment.created", "payment.completed"]
    assert store.audit_of(payment.id)[-1].type == "reconcile.settled"


async def test_a_confirm_toss_never_saw_is_replayed_with_its_own_key(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    await create_payment(CreatePayment(TENANT, "default", "socks", 5000, order_id="order-r3"), deps)
    key = toss.pay_in_window("order-r3", 5000)
    toss.fail_next("confirm", unknown())
    with pytest.raises(PgUnavailable):
        await confirm_payment(ConfirmPayment(TENANT, key, "order-r3", 5000), deps)
    clock.advance(seconds=5)
    await reconcile_due(deps)
    payment = store.by_order_id(TENANT, "order-r3")
    assert payment is not None and payment.status is S.DONE
    assert {c.idempotency_key for c in toss.calls_of("confirm")} == {
        payment.confirm_idempotency_key
    }


async def test_a_replayed_confirm_that_toss_refuses_aborts_the_payment(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    await create_payment(CreatePayment(TENANT, "default", "socks", 5000, order_id="order-r4"), deps)
    key = toss.pay_in_window("order-r4", 5000, fail_with="REJECT_CARD_PAYMENT")
    toss.fail_next("confirm", unknown())
    with pytest.raises(PgUnavailable):
        await confirm_payment(ConfirmPayment(TENANT, key, "order-r4", 5000), deps)
    clock.advance(seconds=5)
    await reconcile_due(deps)
    payment = store.by_order_id(TENANT, "order-r4")
    assert payment is not None and payment.status is S.ABORTED
    assert payment.failure is not None and payment.failure.code == "REJECT_CARD_PAYMENT"
    assert payment.next_reconcile_at is None
    assert events(store, payment.id) == ["payment.created", "payment.failed"]


async def test_a_confirm_that_never_reached_toss_before_toss_expired_it_is_expired_not_failed(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    await create_payment(CreatePayment(TENANT, "default", "socks", 5000, order_id="order-r9"), deps)
    key = toss.pay_in_window("order-r9", 5000)
    toss.fail_next("confirm", GatewayUnknown("CONNECTION_FAILED", "never sent", nothing_sent=True))
    with pytest.raises(PgUnavailable):
        await confirm_payment(ConfirmPayment(TENANT, key, "order-r9", 5000), deps)
    toss.expire(key)  # Toss's window closed with nobody's confirm: EXPIRED there
    clock.advance(seconds=5)
    await reconcile_due(deps)
    payment = store.by_order_id(TENANT, "order-r9")
    assert payment is not None and payment.status is S.EXPIRED  # as Toss says: nobody refused it
    assert payment.failure is not None and payment.failure.code == "EXPIRED_PAYMENT"
    assert events(store, payment.id) == ["payment.created", "payment.expired"]


async def test_an_unanswered_look_up_is_retried_on_the_backoff_schedule(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    payment = await in_doubt(deps, toss)
    toss.fail_next("lookup", unknown(), times=2)
    claimed_at = clock.now()
    clock.advance(seconds=5)
    assert await reconcile_due(deps) == {payment.id: ReconcileOutcome.RETRY_LATER}
    first_retry = store.payment(payment.id)
    assert first_retry.status is S.IN_PROGRESS and first_retry.reconcile_attempts == 1
    assert first_retry.next_reconcile_at == claimed_at + timedelta(seconds=5 + 10)
    clock.advance(seconds=10)
    await reconcile_due(deps)
    assert store.payment(payment.id).next_reconcile_at == claimed_at + timedelta(seconds=35)
    clock.advance(seconds=20)
    assert await reconcile_due(deps) == {payment.id: ReconcileOutcome.SETTLED}
    assert store.payment(payment.id).status is S.DONE


def breaker_open() -> GatewayUnknown:
    return GatewayUnknown("CIRCUIT_OPEN", "calls are paused; nothing was sent", nothing_sent=True)


async def test_a_check_the_open_circuit_breaker_refused_uses_none_of_the_schedule(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    """It counted as an attempt: with a short schedule, payments were escalated "after 3
    checks" that never asked Toss."""
    payment = await in_doubt(deps, toss)
    toss.fail_next("lookup", breaker_open(), times=len(DELAYS) + 1)
    claimed_at = clock.now()
    for n in range(1, len(DELAYS) + 2):
        clock.advance(seconds=5)
        assert await reconcile_due(deps) == {payment.id: ReconcileOutcome.RETRY_LATER}
        waiting = store.payment(payment.id)
        assert waiting.reconcile_attempts == 0 and not waiting.needs_review
        assert waiting.next_reconcile_at == claimed_at + timedelta(seconds=5 * (n + 1))
    clock.advance(seconds=5)
    assert await reconcile_due(deps) == {payment.id: ReconcileOutcome.SETTLED}
    assert store.payment(payment.id).status is S.DONE


async def test_a_cancel_check_the_open_circuit_breaker_refused_uses_none_of_the_schedule(
    deps: Deps, store: InMemoryStore, clock: FakeClock
) -> None:
    payment, toss = await paid(deps)
    toss.apply_then_fail("cancel")
    with pytest.raises(PgTimeout):
        await cancel_payment(CancelPayment(TENANT, payment.id, "changed mind", 3000), deps)
    toss.fail_next("lookup", breaker_open(), times=len(DELAYS) + 1)
    for _ in range(len(DELAYS) + 1):
        clock.advance(seconds=5)
        assert await reconcile_due(deps) == {payment.id: ReconcileOutcome.RETRY_LATER}
        assert store.payment(payment.id).reconcile_attempts == 0
    clock.advance(seconds=5)
    assert await reconcile_due(deps) == {payment.id: ReconcileOutcome.SETTLED}
    assert store.payment(payment.id).pending_cancel_amount == 0


async def test_a_check_the_pg_gave_no_exchange_for_is_audited_under_the_reconcilers_name(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    payment = await in_doubt(deps, toss)
    toss.fail_next("lookup", unknown())  # raised bare: no exchange to name the call by
    clock.advance(seconds=5)
    await reconcile_due(deps)
    last = store.audit_of(payment.id)[-1]
    assert (last.type, last.status) == ("pg.reconcile", "unknown")


async def test_an_outcome_unknown_after_the_last_check_is_flagged_for_a_person_not_failed(
    deps: Deps,
    toss: FakeGateway,
    store: InMemoryStore,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    payment = await in_doubt(deps, toss)
    toss.fail_next("lookup", unknown("PROVIDER_ERROR"), times=len(DELAYS))
    outcomes = []
    with caplog.at_level(logging.ERROR, logger="sunap.reconciler"):
        for delay in DELAYS:
            clock.advance(delay)
            outcomes += list((await reconcile_due(deps)).values())
    assert outcomes == [
        ReconcileOutcome.RETRY_LATER,
        ReconcileOutcome.RETRY_LATER,
        ReconcileOutcome.ESCALATED,
    ]
    flagged = store.payment(payment.id)
    assert flagged.status is S.IN_PROGRESS and flagged.needs_review
    assert flagged.review_reason is not None and "PROVIDER_ERROR" in flagged.review_reason
    assert flagged.next_reconcile_at is None  # no more automatic checks
    assert f"payment {payment.id} needs a person" in caplog.text
    assert events(store, payment.id) == ["payment.created"]

    # A person fixes what stood in the way and resolves the review: Toss is asked again.
    await resolve_review(ResolveReview(TENANT, payment.id, "Toss is back", "ops"), deps)
    assert await reconcile_due(deps) == {payment.id: ReconcileOutcome.SETTLED}
    assert store.payment(payment.id).status is S.DONE


async def test_two_reconcilers_never_work_on_one_payment_at_once(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    payment = await in_doubt(deps, toss)
    clock.advance(seconds=5)
    gate = toss.hold("lookup")
    first = asyncio.create_task(reconcile_payment(payment.id, deps))
    await gate.arrived.wait()
    second = await reconcile_payment(payment.id, deps)
    gate.release()
    assert second is ReconcileOutcome.SKIPPED
    assert await first is ReconcileOutcome.SETTLED
    assert len(toss.calls_of("lookup")) == 1
    assert events(store, payment.id) == ["payment.created", "payment.completed"]


async def test_a_lost_cancel_is_settled_and_its_reservation_released_into_the_refund(
    deps: Deps, store: InMemoryStore, clock: FakeClock
) -> None:
    payment, toss = await paid(deps)
    toss.apply_then_fail("cancel")
    with pytest.raises(PgTimeout):
        await cancel_payment(CancelPayment(TENANT, payment.id, "changed mind", 3000), deps)
    assert store.payment(payment.id).pending_cancel_amount == 3000
    clock.advance(seconds=5)
    await reconcile_due(deps)
    settled = store.payment(payment.id)
    assert settled.balance_amount == 7000 and settled.pending_cancel_amount == 0
    assert len(toss.applied_of("cancel")) == 1
    assert settled.balance_amount == toss.payment(settled.payment_key or "").balance_amount


async def test_every_call_the_reconciler_makes_about_lost_cancels_is_in_the_trail(
    deps: Deps, store: InMemoryStore, clock: FakeClock
) -> None:
    """The look-up and each replayed cancel: only the last answer was recorded."""
    payment, toss = await paid(deps)
    toss.fail_next("cancel", unknown(), times=2)
    for amount in (1000, 2000):
        with pytest.raises(PgUnavailable):
            await cancel_payment(CancelPayment(TENANT, payment.id, "lost", amount), deps)
    before = len(store.audit_of(payment.id))
    clock.advance(seconds=5)
    await reconcile_due(deps)
    added = [(str(e.type), e.request_data) for e in store.audit_of(payment.id)[before:]]
    calls = [(t, r["path"]) for t, r in added if t.startswith("pg.") and r]
    assert calls == [
        ("pg.lookup", f"/v1/payments/orders/{payment.order_id}"),
        ("pg.cancel", f"/v1/payments/{payment.payment_key}/cancel"),
        ("pg.cancel", f"/v1/payments/{payment.payment_key}/cancel"),
        # the record as it is after the replays, each answered with its key's first answer
        ("pg.lookup", f"/v1/payments/{payment.payment_key}"),
    ], added
    assert store.payment(payment.id).balance_amount == 7000


async def test_a_replayed_cancel_that_toss_refuses_releases_the_reservation(
    deps: Deps, store: InMemoryStore, clock: FakeClock
) -> None:
    payment, toss = await paid(deps)
    toss.fail_next("cancel", unknown())
    with pytest.raises(PgUnavailable):
        await cancel_payment(CancelPayment(TENANT, payment.id, "changed mind", 3000), deps)
    toss.fail_next("cancel", GatewayDeclined("REFUND_REJECTED", "환불이 거절됐습니다."))
    clock.advance(seconds=5)
    await reconcile_due(deps)
    settled = store.payment(payment.id)
    assert settled.balance_amount == 10000 and settled.pending_cancel_amount == 0
    assert [c.status for c in settled.cancels] == [CancelStatus.FAILED]
    assert settled.next_reconcile_at is None


async def test_two_cancels_of_one_amount_are_each_booked_against_their_own_refund(
    deps: Deps, store: InMemoryStore, clock: FakeClock
) -> None:
    """Found by the randomized e2e run: one cancel is lost before Toss, the other goes through.
    Matching by amount booked the refund against the lost one and left the other pending."""
    payment, toss = await paid(deps, amount=1500)
    toss.fail_next("cancel", unknown())
    with pytest.raises(PgUnavailable):
        await cancel_payment(CancelPayment(TENANT, payment.id, "first", 600), deps)
    second = await cancel_payment(CancelPayment(TENANT, payment.id, "second", 600), deps)
    lost, done = second.cancels
    assert lost.status is CancelStatus.PENDING and done.status is CancelStatus.DONE
    clock.advance(seconds=5)
    await reconcile_due(deps)
    settled = store.payment(payment.id)
    toss_view = toss.payment(settled.payment_key or "")
    assert [c.status for c in settled.cancels] == [CancelStatus.DONE, CancelStatus.DONE]
    assert sorted(c.transaction_key or "" for c in settled.cancels) == sorted(
        c.transaction_key or "" for c in toss_view.cancels
    )
    assert settled.balance_amount == toss_view.balance_amount == 300
    assert events(store, payment.id)[-2:] == [
        "payment.partially_canceled",
        "payment.partially_canceled",
    ]
