"""A payment we closed unpaid, while the customer may still have been in Toss's window (canceled
by the merchant while READY, or expired when Toss did not know the order yet), gets one more look
at Toss once Toss's own window has closed. If Toss approved it all the same (confirmed there
directly, and its webhook lost), the look-up adopts the approval, flagged for a person; if not,
nothing changes and nothing more is asked."""

from __future__ import annotations

from datetime import timedelta

from sunap.application.cancel_payment import cancel_payment
from sunap.application.commands import CancelPayment, CreatePayment
from sunap.application.create_payment import create_payment
from sunap.application.deps import Deps
from sunap.application.expire_unpaid import expire_unpaid
from sunap.application.reconcile import ReconcileOutcome, reconcile_due
from sunap.domain.payment import Payment, PaymentStatus
from tests.fakes.clock import FakeClock
from tests.fakes.gateway import LOOKUP, FakeGateway
from tests.fakes.uow import InMemoryStore

S = PaymentStatus
TTL = timedelta(hours=1)


async def new_payment(deps: Deps, order_id: str) -> Payment:
    return await create_payment(
        CreatePayment("t1", "default", "책", 12000, order_id=order_id), deps
    )


async def canceled_unpaid(deps: Deps, order_id: str) -> Payment:
    payment = await new_payment(deps, order_id)
    return await cancel_payment(CancelPayment("t1", payment.id, "고객 변심"), deps)


async def expired_unknown_to_toss(deps: Deps, clock: FakeClock, order_id: str) -> Payment:
    payment = await new_payment(deps, order_id)
    clock.advance(TTL + timedelta(seconds=1))
    assert await expire_unpaid(deps, TTL) == 1
    return payment


async def confirmed_at_toss(toss: FakeGateway, payment: Payment) -> str:
    key = toss.pay_in_window(payment.order_id, payment.amount)
    await toss.confirm(
        payment_key=key,
        order_id=payment.order_id,
        amount=payment.amount,
        idempotency_key=f"console-{payment.order_id}",
    )
    return key


async def test_an_approval_at_toss_whose_webhook_was_lost_is_found_by_the_follow_up_look(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    expired = await expired_unknown_to_toss(deps, clock, "order-fu-02")
    canceled = await canceled_unpaid(deps, "order-fu-01")
    keys = {p.id: await confirmed_at_toss(toss, p) for p in (canceled, expired)}

    assert await reconcile_due(deps) == {}  # not before Toss's window has closed
    clock.advance(deps.toss_recheck)
    outcomes = await reconcile_due(deps)

    assert outcomes == {p.id: ReconcileOutcome.SETTLED for p in (canceled, expired)}
    for payment, closing_event in ((canceled, "payment.canceled"), (expired, "payment.expired")):
        after = store.payment(payment.id)
        assert after.status is S.DONE and after.payment_key == keys[payment.id]
        assert after.balance_amount == 12000 and after.next_reconcile_at is None
        assert after.needs_review and "approved at Toss after it was" in (after.review_reason or "")
        assert [e.type for e in store.events_of(payment.id)] == [
            "payment.created",
            closing_event,
            "payment.completed",
        ]
        assert [(a.type, a.status) for a in store.audit_of(payment.id)][-2:] == [
            ("pg.lookup", "ok"),
            ("reconcile.settled", "ok"),
        ]


async def test_an_order_nobody_paid_is_left_closed_and_not_asked_about_again(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    canceled = await canceled_unpaid(deps, "order-fu-03")  # Toss never saw the order
    clock.advance(deps.toss_recheck)

    assert await reconcile_due(deps) == {canceled.id: ReconcileOutcome.SETTLED}

    after = store.payment(canceled.id)
    assert after.status is S.CANCELED and not after.needs_review
    assert after.next_reconcile_at is None
    assert [e.type for e in store.events_of(canceled.id)] == ["payment.created", "payment.canceled"]
    clock.advance(timedelta(days=2))
    lookups = len(toss.calls_of(LOOKUP))
    assert await reconcile_due(deps) == {}
    assert len(toss.calls_of(LOOKUP)) == lookups


async def test_an_order_toss_still_holds_open_is_looked_at_again_after_its_window(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    canceled = await canceled_unpaid(deps, "order-fu-04")
    toss.pay_in_window(canceled.order_id, canceled.amount)  # authenticated after the cancel
    clock.advance(deps.toss_recheck)

    assert await reconcile_due(deps) == {canceled.id: ReconcileOutcome.RETRY_LATER}

    after = store.payment(canceled.id)
    assert after.status is S.CANCELED and not after.needs_review
    assert after.next_reconcile_at == clock.now() + deps.toss_recheck


async def test_an_order_toss_expired_is_not_followed_up(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    """Toss ended it unpaid: it can never be paid, so the expiry leaves nothing to ask."""
    payment = await new_payment(deps, "order-fu-05")
    toss.expire(toss.pay_in_window(payment.order_id, payment.amount))
    clock.advance(TTL + timedelta(seconds=1))
    assert await expire_unpaid(deps, TTL) == 1
    assert store.payment(payment.id).next_reconcile_at is None
