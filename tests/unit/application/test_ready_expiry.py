"""READY payments nobody paid become EXPIRED once their time to live is up: through the
aggregate, with an audit row and the `payment.expired` event, and never a payment that is not
READY any more."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sunap.application.cancel_payment import cancel_payment
from sunap.application.commands import CancelPayment, ConfirmPayment, CreatePayment
from sunap.application.confirm_payment import confirm_payment
from sunap.application.create_payment import create_payment
from sunap.application.deps import Deps
from sunap.application.expire_unpaid import expire_unpaid
from sunap.domain.payment import Payment, PaymentStatus
from tests.fakes.clock import FakeClock
from tests.fakes.gateway import CONFIRM, FakeGateway
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
    assert [e.type for e in store.audit_of(payment.id)][-1] == "payment.expired"
    assert await expire_unpaid(deps, TTL) == 0  # nothing twice


async def test_a_ready_payment_younger_than_its_ttl_is_left_alone(
    deps: Deps, store: InMemoryStore, clock: FakeClock
) -> None:
    payment = await new_payment(deps, "order-ttl-02")
    clock.advance(TTL - timedelta(seconds=1))

    assert await expire_unpaid(deps, TTL) == 0
    assert store.payment(payment.id).status is S.READY


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
