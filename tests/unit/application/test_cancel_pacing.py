"""The PG takes one cancel of a payment per second (docs/toss.md "Pacing"): Sunap spaces them."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from datetime import datetime, timedelta

import pytest

from sunap.application.cancel_payment import cancel_payment
from sunap.application.cancel_turns import CANCEL_SPACING, CANCEL_TURN_HOLD
from sunap.application.deps import Deps
from sunap.application.ports.unit_of_work import UnitOfWork
from sunap.domain.errors import ExceedsBalance, NotCancelableStatus
from sunap.domain.payment import Payment, PaymentStatus
from tests.fakes.clock import FakeClock
from tests.fakes.gateway import FakeGateway
from tests.fakes.uow import InMemoryStore
from tests.unit.application.test_cancel_use_case import canceling, paid


def cancel_times(toss: FakeGateway, clock: FakeClock) -> list[datetime]:
    sent: list[datetime] = []
    toss.on_call(lambda call: sent.append(clock.now()) if call.operation == "cancel" else None)
    return sent


def gaps(times: list[datetime]) -> list[timedelta]:
    return [later - earlier for earlier, later in itertools.pairwise(times)]


async def test_a_partial_then_a_full_cancel_back_to_back_reach_the_pg_a_second_apart(
    deps: Deps, toss: FakeGateway, clock: FakeClock
) -> None:
    payment = await paid(deps, toss, amount=10000)
    sent = cancel_times(toss, clock)

    partial = await cancel_payment(canceling(payment, 3000), deps)
    full = await cancel_payment(canceling(payment), deps)

    assert (partial.status, partial.balance_amount) == (PaymentStatus.PARTIAL_CANCELED, 7000)
    assert (full.status, full.balance_amount) == (PaymentStatus.CANCELED, 0)
    assert len(sent) == 2
    assert gaps(sent)[0] >= CANCEL_SPACING >= timedelta(seconds=1)


async def test_a_cancel_after_the_spacing_has_passed_does_not_wait(
    deps: Deps, toss: FakeGateway, clock: FakeClock
) -> None:
    payment = await paid(deps, toss, amount=10000)
    await cancel_payment(canceling(payment, 1000), deps)
    clock.advance(seconds=5)
    await cancel_payment(canceling(payment, 1000), deps)
    assert clock.slept == []


async def test_twenty_concurrent_partial_cancels_are_spaced_and_never_exceed_the_balance(
    deps: Deps, toss: FakeGateway, clock: FakeClock, store: InMemoryStore
) -> None:
    payment = await paid(deps, toss, amount=10000)
    sent = cancel_times(toss, clock)

    results = await asyncio.gather(
        *(cancel_payment(canceling(payment, 1000), deps) for _ in range(20)),
        return_exceptions=True,
    )

    succeeded = [r for r in results if isinstance(r, Payment)]
    refused = [r for r in results if isinstance(r, ExceedsBalance | NotCancelableStatus)]
    assert (len(succeeded), len(refused)) == (10, 10)
    assert len(sent) == 10
    assert min(gaps(sent)) >= CANCEL_SPACING
    assert store.payment(payment.id).balance_amount == 0


async def test_a_turn_held_by_a_process_that_died_delays_but_does_not_lose_the_cancel(
    deps: Deps, toss: FakeGateway, clock: FakeClock, store: InMemoryStore
) -> None:
    payment = await paid(deps, toss, amount=10000)
    # Another process took the turn for a cancel in flight, then died without freeing it.
    async with deps.uow() as uow:
        taken = await uow.payments.claim_cancel_turn(
            payment.tenant_id, payment.id, clock.now(), clock.now() + CANCEL_TURN_HOLD
        )
        await uow.commit()
    assert taken is None

    after = await cancel_payment(canceling(payment, 1000), deps)

    assert after.balance_amount == 9000
    assert len(toss.calls_of("cancel")) == 1
    assert sum(clock.slept) >= CANCEL_TURN_HOLD.total_seconds()
    assert store.payment(payment.id).balance_amount == 9000


async def test_a_cancel_refused_before_the_pg_takes_no_turn(
    deps: Deps, toss: FakeGateway, clock: FakeClock
) -> None:
    payment = await paid(deps, toss, amount=10000)
    sent = cancel_times(toss, clock)
    with pytest.raises(ExceedsBalance):
        await cancel_payment(canceling(payment, 20000), deps)  # refused before the PG
    await cancel_payment(canceling(payment, 1000), deps)
    assert clock.slept == []  # nothing went to the PG before it: no wait
    assert len(sent) == 1


async def test_a_turn_is_freed_a_spacing_later_even_when_the_answer_cannot_be_recorded(
    deps: Deps, toss: FakeGateway, clock: FakeClock, store: InMemoryStore
) -> None:
    """The turn is freed in the transaction that records the PG's answer; when that transaction
    fails (the database went away just then), it is freed on its own, so the next cancel of the
    payment waits the spacing and not the whole hold."""
    payment = await paid(deps, toss, amount=10000)
    sent = False

    def note_the_call(call: object) -> None:
        nonlocal sent
        sent = sent or getattr(call, "operation", None) == "cancel"

    toss.on_call(note_the_call)
    real_uow = deps.uow

    def failing_once_after_the_call() -> UnitOfWork:
        uow = real_uow()
        nonlocal sent
        if sent:
            sent = False

            async def refuse() -> None:
                raise ConnectionError("the database went away")

            uow.commit = refuse  # type: ignore[method-assign]
        return uow

    with pytest.raises(ConnectionError):
        await cancel_payment(
            canceling(payment, 1000), dataclasses.replace(deps, uow=failing_once_after_the_call)
        )

    assert store.next_cancel_at[payment.id] <= clock.now() + CANCEL_SPACING
    # The answer was not recorded: the cancel stays reserved for the reconciler to settle.
    assert store.payment(payment.id).pending_cancel_amount == 1000
