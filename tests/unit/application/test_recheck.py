"""`sunap recheck`'s use case: paid payments Toss changed while its webhooks were lost are
brought level with Toss, and nothing else is touched."""

from __future__ import annotations

from datetime import timedelta

from sunap.application.deps import Deps
from sunap.application.ports.gateway import GatewayUnknown
from sunap.application.recheck import RecheckOutcome, payments_to_recheck, recheck_payment
from sunap.domain.payment import PaymentMethod, PaymentStatus
from tests.fakes.clock import FakeClock
from tests.fakes.gateway import FakeGateway
from tests.fakes.uow import InMemoryStore
from tests.unit.application.test_cancel_use_case import paid, same_request, unanswered
from tests.unit.webhooks.scenes import confirmed, waiting_for_deposit

S = PaymentStatus


async def refund_in_console(toss: FakeGateway, payment_key: str | None, amount: int) -> None:
    """A refund made in Toss's console, whose webhook never reached Sunap."""
    assert payment_key is not None
    await toss.cancel(
        payment_key=payment_key, reason="console", amount=amount, idempotency_key="console-1"
    )


async def test_a_refund_made_in_tosss_console_unheard_of_is_booked_with_its_event(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await paid(deps, toss, amount=20000)
    await refund_in_console(toss, payment.payment_key, 5000)

    rechecked = await recheck_payment(payment.id, deps)

    assert (rechecked.outcome, rechecked.status) == (RecheckOutcome.CHANGED, "PARTIAL_CANCELED")
    booked = store.payment(payment.id)
    assert (booked.balance_amount, [c.amount for c in booked.cancels]) == (15000, [5000])
    assert "payment.partially_canceled" in [e.type for e in store.events_of(payment.id)]
    trail = [e.type for e in store.audit_of(payment.id)]
    assert "cancel.external" in trail


async def test_a_payment_toss_shows_as_we_hold_it_is_unchanged_and_writes_no_event(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await paid(deps, toss)
    events = len(store.events_of(payment.id))

    rechecked = await recheck_payment(payment.id, deps)

    assert rechecked.outcome is RecheckOutcome.UNCHANGED
    assert len(store.events_of(payment.id)) == events
    assert store.payment(payment.id).status is S.DONE


async def test_a_payment_with_a_cancel_in_doubt_is_left_to_the_reconciler(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await paid(deps, toss)
    await unanswered(same_request(payment), deps, toss)
    lookups = len(toss.calls_of("lookup"))

    rechecked = await recheck_payment(payment.id, deps)

    assert rechecked.outcome is RecheckOutcome.BUSY
    assert len(toss.calls_of("lookup")) == lookups  # Toss not asked


async def test_toss_not_answering_says_so_and_changes_nothing(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await paid(deps, toss)
    toss.fail_next("lookup", GatewayUnknown("FAILED_INTERNAL_SYSTEM_PROCESSING", "500"))

    rechecked = await recheck_payment(payment.id, deps)

    assert rechecked.outcome is RecheckOutcome.UNREACHABLE
    assert "FAILED_INTERNAL_SYSTEM_PROCESSING" in rechecked.note
    assert store.payment(payment.id).status is S.DONE


async def test_a_deposit_toss_took_back_unheard_of_flags_the_paid_payment_for_a_person(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    """Both webhooks lost: recheck learns of the deposit, then of the bank taking it back. A paid
    payment never moves backwards here: the merchant may have shipped, so a person decides."""
    payment = await waiting_for_deposit(deps, toss)
    assert payment.payment_key is not None
    toss.deposit(payment.payment_key)
    assert (await recheck_payment(payment.id, deps)).status == "DONE"
    toss.deposit_error(payment.payment_key)

    rechecked = await recheck_payment(payment.id, deps)

    assert (rechecked.outcome, rechecked.status) == (RecheckOutcome.FLAGGED, "DONE")
    after = store.payment(payment.id)
    assert after.needs_review and rechecked.note == after.review_reason
    assert "deposit" in rechecked.note
    assert [e.type for e in store.events_of(payment.id)][-1] == "payment.review_required"
    # Asked again, the flag stays and is not reported (or published) a second time.
    again = await recheck_payment(payment.id, deps)
    assert again.outcome is RecheckOutcome.UNCHANGED
    assert [e.type for e in store.events_of(payment.id)].count("payment.review_required") == 1


async def test_only_payments_toss_may_still_change_since_the_time_are_listed_oldest_first(
    deps: Deps, toss: FakeGateway, clock: FakeClock
) -> None:
    before = await confirmed(deps, toss, order_id="order-before")
    clock.advance(seconds=3600)
    since = clock.now()
    first = await confirmed(deps, toss, order_id="order-first")
    clock.advance(seconds=1)
    waiting = await confirmed(deps, toss, order_id="order-va", method=PaymentMethod.VIRTUAL_ACCOUNT)
    clock.advance(seconds=1)
    refunded = await confirmed(deps, toss, order_id="order-refunded")
    await refund_in_console(toss, refunded.payment_key, 15000)
    await recheck_payment(refunded.id, deps)  # CANCELED now: Toss changes it no more

    assert waiting.status is S.WAITING_FOR_DEPOSIT
    assert await payments_to_recheck(deps, since, limit=10) == [first.id, waiting.id]
    assert before.id in await payments_to_recheck(deps, since - timedelta(hours=2), limit=10)
    assert await payments_to_recheck(deps, since, limit=1) == [first.id]
