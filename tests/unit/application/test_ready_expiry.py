"""READY payments nobody paid become EXPIRED once their time to live is up: through the
aggregate, with an audit row and the `payment.expired` event, and never a payment that is not
READY any more. Toss is asked first: a payment it approved without us is adopted, never
expired, and one Toss could not be asked about waits for the next pass."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sunap.application.cancel_payment import cancel_payment
from sunap.application.commands import CancelPayment, ConfirmPayment, CreatePayment
from sunap.application.confirm_payment import confirm_payment
from sunap.application.create_payment import create_payment
from sunap.application.deps import Deps
from sunap.application.expire_unpaid import EXPIRY_RECHECK_AFTER, ExpiryCursor, expire_unpaid
from sunap.application.ports.gateway import GatewayUnknown
from sunap.application.toss_windows import TOSS_CONFIRM_WINDOW
from sunap.domain.payment import Payment, PaymentMethod, PaymentStatus
from tests.fakes.clock import FakeClock
from tests.fakes.gateway import CONFIRM, LOOKUP, FakeGateway
from tests.fakes.uow import InMemoryStore

TTL = timedelta(hours=24)
S = PaymentStatus


async def new_payment(deps: Deps, order_id: str) -> Payment:
    return await create_payment(
        CreatePayment("t1", "default", "책", 12000, order_id=order_id), deps
    )


async def test_a_ready_payment_past_its_ttl_expires_with_its_event_and_audit_row(
    deps: Deps, store: InMemoryStore, clock: FakeClock
) -> None:
    payment = await new_payment(deps, "order-ttl-01")
    clock.advance(TTL + timedelta(seconds=1))

    assert await expire_unpaid(deps, TTL) == 1

    expired = store.payment(payment.id)
    assert expired.status is S.EXPIRED and expired.updated_at == clock.now()
    assert [e.type for e in store.events_of(payment.id)] == ["payment.created", "payment.expired"]
    assert [e.type for e in store.audit_of(payment.id)][-2:] == ["pg.lookup", "payment.expired"]
    assert await expire_unpaid(deps, TTL) == 0  # nothing twice


async def test_a_ready_payment_younger_than_its_ttl_is_left_alone(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    payment = await new_payment(deps, "order-ttl-02")
    clock.advance(TTL - timedelta(seconds=1))

    assert await expire_unpaid(deps, TTL) == 0
    assert store.payment(payment.id).status is S.READY
    assert toss.calls_of(LOOKUP) == []  # only payments due for expiry cost a look-up


async def test_only_ready_payments_expire(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    paid = await new_payment(deps, "order-ttl-03")
    key = toss.pay_in_window("order-ttl-03", 12000)
    await confirm_payment(ConfirmPayment("t1", key, "order-ttl-03", 12000), deps)
    canceled = await new_payment(deps, "order-ttl-04")
    await cancel_payment(CancelPayment("t1", canceled.id, "고객 변심"), deps)
    clock.advance(TTL * 2)

    assert await expire_unpaid(deps, TTL) == 0
    assert store.payment(paid.id).status is S.DONE
    assert store.payment(canceled.id).status is S.CANCELED


async def test_a_batch_takes_the_oldest_first_and_the_rest_follow(
    deps: Deps, store: InMemoryStore, clock: FakeClock
) -> None:
    payments = []
    for n in range(5):
        payments.append(await new_payment(deps, f"order-ttl-batch-{n}"))
        clock.advance(seconds=1)
    clock.advance(TTL)

    assert await expire_unpaid(deps, TTL, limit=2) == 2
    assert [store.payment(p.id).status for p in payments] == [S.EXPIRED] * 2 + [S.READY] * 3
    assert await expire_unpaid(deps, TTL, limit=100) == 3


async def test_a_confirm_that_claims_the_payment_first_wins_and_nothing_expires(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    payment = await new_payment(deps, "order-ttl-05")
    key = toss.pay_in_window("order-ttl-05", 12000)
    clock.advance(TTL + timedelta(seconds=1))
    gate = toss.hold(CONFIRM)  # the confirm has claimed the payment and is waiting on Toss

    confirming = asyncio.create_task(
        confirm_payment(ConfirmPayment("t1", key, "order-ttl-05", 12000), deps)
    )
    await gate.arrived.wait()
    assert await expire_unpaid(deps, TTL) == 0
    gate.release()

    assert (await confirming).status is S.DONE
    assert "payment.expired" not in [e.type for e in store.events_of(payment.id)]


async def test_several_workers_at_once_expire_each_payment_once(
    deps: Deps, store: InMemoryStore, clock: FakeClock
) -> None:
    payments = [await new_payment(deps, f"order-ttl-many-{n}") for n in range(10)]
    clock.advance(TTL + timedelta(seconds=1))

    counts = await asyncio.gather(*(expire_unpaid(deps, TTL) for _ in range(4)))

    assert sum(counts) == 10
    for payment in payments:
        assert [e.type for e in store.events_of(payment.id)].count("payment.expired") == 1


async def paid_behind_our_back(
    toss: FakeGateway, payment: Payment, method: PaymentMethod = PaymentMethod.CARD
) -> str:
    """The customer paid and the order was confirmed at Toss directly, with the secret key:
    Sunap was not told (or a database restore forgot it)."""
    key = toss.pay_in_window(payment.order_id, payment.amount, method)
    await toss.confirm(
        payment_key=key, order_id=payment.order_id, amount=payment.amount, idempotency_key="k"
    )
    return key


async def test_a_payment_toss_approved_without_us_is_adopted_not_expired(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    payment = await new_payment(deps, "order-ttl-paid-01")
    key = await paid_behind_our_back(toss, payment)
    clock.advance(TTL + timedelta(seconds=1))

    assert await expire_unpaid(deps, TTL) == 1

    after = store.payment(payment.id)
    assert after.status is S.DONE and after.payment_key == key and after.approved_at is not None
    assert [e.type for e in store.events_of(payment.id)] == ["payment.created", "payment.completed"]
    lookup = store.audit_of(payment.id)[-1]
    assert lookup.type == "pg.lookup" and lookup.status == "ok"
    assert [c.order_id for c in toss.calls_of(LOOKUP)] == [payment.order_id]
    # The customer's own confirm now finds it paid; Toss is not asked to confirm it again.
    again = await confirm_payment(ConfirmPayment("t1", key, payment.order_id, 12000), deps)
    assert again.status is S.DONE and len(toss.calls_of(CONFIRM)) == 1


async def test_a_virtual_account_issued_without_us_is_adopted_waiting_for_its_deposit(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    payment = await new_payment(deps, "order-ttl-paid-02")
    await paid_behind_our_back(toss, payment, PaymentMethod.VIRTUAL_ACCOUNT)
    clock.advance(TTL + timedelta(seconds=1))

    assert await expire_unpaid(deps, TTL) == 1

    after = store.payment(payment.id)
    assert after.status is S.WAITING_FOR_DEPOSIT and after.deposit_secret_digest is not None
    assert "payment.expired" not in [e.type for e in store.events_of(payment.id)]
    assert after.next_reconcile_at is not None  # checked again at the account's due date


async def test_a_payment_toss_expired_or_never_knew_expires(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    timed_out = await new_payment(deps, "order-ttl-unpaid")
    toss.expire(toss.pay_in_window(timed_out.order_id, timed_out.amount))  # Toss's own expiry
    unknown = await new_payment(deps, "order-ttl-unknown")  # the window was never opened
    clock.advance(TTL + timedelta(seconds=1))

    assert await expire_unpaid(deps, TTL) == 2
    assert store.payment(timed_out.id).status is S.EXPIRED
    assert store.payment(unknown.id).status is S.EXPIRED


async def test_a_payment_the_customer_authenticated_is_not_expired_while_toss_may_confirm_it(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    """Toss IN_PROGRESS: the customer authenticated and the order can still be confirmed at
    Toss for 10 minutes. The expiry looks again once that window has closed, and expires the
    payment only when Toss then says it was not paid."""
    payment = await new_payment(deps, "order-ttl-authenticated")
    key = toss.pay_in_window(payment.order_id, payment.amount)  # authenticated, not confirmed
    clock.advance(TTL + timedelta(seconds=1))

    assert await expire_unpaid(deps, TTL) == 0

    waiting = store.payment(payment.id)
    assert waiting.status is S.READY and not waiting.needs_review
    assert waiting.expiry_recheck_at == clock.now() + EXPIRY_RECHECK_AFTER
    assert EXPIRY_RECHECK_AFTER > TOSS_CONFIRM_WINDOW == timedelta(minutes=10)
    assert [e.type for e in store.events_of(payment.id)] == ["payment.created"]
    assert [(a.type, a.status) for a in store.audit_of(payment.id)][-2:] == [
        ("pg.lookup", "ok"),
        ("payment.expiry_postponed", "ok"),
    ]
    lookups = len(toss.calls_of(LOOKUP))
    clock.advance(EXPIRY_RECHECK_AFTER - timedelta(seconds=1))
    assert await expire_unpaid(deps, TTL) == 0
    assert len(toss.calls_of(LOOKUP)) == lookups  # not asked again before Toss's window closed

    toss.expire(key)  # Toss's window closed unconfirmed
    clock.advance(seconds=1)
    assert await expire_unpaid(deps, TTL) == 1
    assert store.payment(payment.id).status is S.EXPIRED
    assert [e.type for e in store.events_of(payment.id)] == ["payment.created", "payment.expired"]


async def test_a_payment_toss_still_holds_open_is_looked_at_again_later(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    payment = await new_payment(deps, "order-ttl-open")
    toss.pay_in_window(payment.order_id, payment.amount)
    clock.advance(TTL + timedelta(seconds=1))
    assert await expire_unpaid(deps, TTL) == 0
    clock.advance(EXPIRY_RECHECK_AFTER)

    assert await expire_unpaid(deps, TTL) == 0  # Toss has not closed it yet: never guessed

    assert store.payment(payment.id).status is S.READY
    assert store.payment(payment.id).expiry_recheck_at == clock.now() + EXPIRY_RECHECK_AFTER


async def test_a_postponed_payment_the_customer_confirms_is_paid(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    payment = await new_payment(deps, "order-ttl-late-confirm")
    key = toss.pay_in_window(payment.order_id, payment.amount)
    clock.advance(TTL + timedelta(seconds=1))
    assert await expire_unpaid(deps, TTL) == 0
    clock.advance(timedelta(minutes=5))

    paid = await confirm_payment(ConfirmPayment("t1", key, payment.order_id, 12000), deps)

    assert paid.status is S.DONE
    assert "payment.expired" not in [e.type for e in store.events_of(payment.id)]


async def test_a_payment_toss_could_not_be_asked_about_waits_for_the_next_pass(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    payment = await new_payment(deps, "order-ttl-down")
    await paid_behind_our_back(toss, payment)
    clock.advance(TTL + timedelta(seconds=1))
    toss.fail_next(LOOKUP, GatewayUnknown("READ_TIMEOUT", "no answer", timed_out=True))

    assert await expire_unpaid(deps, TTL) == 0
    assert store.payment(payment.id).status is S.READY
    assert [e.type for e in store.events_of(payment.id)] == ["payment.created"]

    toss.down = True  # an open circuit breaker: not even asked
    lookups = len(toss.calls_of(LOOKUP))
    assert await expire_unpaid(deps, TTL) == 0
    assert store.payment(payment.id).status is S.READY
    assert len(toss.calls_of(LOOKUP)) == lookups

    toss.down = False
    assert await expire_unpaid(deps, TTL) == 1
    assert store.payment(payment.id).status is S.DONE


async def test_toss_reporting_another_amount_for_the_order_flags_it_and_it_is_not_asked_again(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    payment = await new_payment(deps, "order-ttl-odd")
    key = toss.pay_in_window(payment.order_id, 99000)
    await toss.confirm(
        payment_key=key, order_id=payment.order_id, amount=99000, idempotency_key="k"
    )
    clock.advance(TTL + timedelta(seconds=1))

    await expire_unpaid(deps, TTL)

    after = store.payment(payment.id)
    assert after.status is S.READY and after.needs_review
    lookups = len(toss.calls_of(LOOKUP))
    assert await expire_unpaid(deps, TTL) == 0
    assert len(toss.calls_of(LOOKUP)) == lookups and store.payment(payment.id).status is S.READY


async def test_payments_toss_cannot_be_asked_about_do_not_hold_up_younger_ones(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    payments = []
    for n in range(3):
        payments.append(await new_payment(deps, f"order-ttl-stuck-{n}"))
        clock.advance(seconds=1)
    clock.advance(TTL)
    toss.fail_next(LOOKUP, GatewayUnknown("PROVIDER_ERROR", "down"), times=2)
    cursor = ExpiryCursor()

    assert await expire_unpaid(deps, TTL, limit=2, cursor=cursor) == 0
    assert await expire_unpaid(deps, TTL, limit=2, cursor=cursor) == 1

    assert [store.payment(p.id).status for p in payments] == [S.READY, S.READY, S.EXPIRED]
    assert await expire_unpaid(deps, TTL, limit=2, cursor=cursor) == 2  # from the oldest again
