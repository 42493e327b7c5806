"""A cancel whose process died between sending the call to Toss and recording its answer
(kill -9): the call is still in the payment's trail, by its cancel.requested row and the note
written before the cancel is sent again (docs/reliability.md, Crash points)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace

import pytest

from sunap.application.cancel_payment import cancel_payment
from sunap.application.commands import CancelPayment
from sunap.application.deps import Deps
from sunap.application.errors import PgTimeout
from sunap.application.ports.audit import AuditEntry
from sunap.application.ports.gateway import GatewayUnknown
from sunap.application.reconcile import reconcile_due
from sunap.domain.payment import Payment, PaymentStatus
from tests.fakes.clock import FakeClock
from tests.fakes.gateway import FakeGateway
from tests.fakes.uow import InMemoryStore
from tests.unit.application.test_cancel_use_case import canceling, paid


def trail_types(store: InMemoryStore, payment_id: str) -> list[str]:
    return [str(e.type) for e in store.audit_of(payment_id)]


def key_of(entry: AuditEntry) -> str | None:
    """The Toss Idempotency-Key a row names: a cancel's own rows and its calls' rows."""
    if entry.type == "cancel.requested":
        return (entry.response_data or {}).get("pgIdempotencyKey")
    if entry.type == "cancel.answer_unrecorded":
        return (entry.request_data or {}).get("pgIdempotencyKey")
    return (entry.request_data or {}).get("idempotencyKey")


async def killed_in_flight(cmd: CancelPayment, deps: Deps, toss: FakeGateway) -> str:
    """The cancel's process dies while Toss holds its call: the call's Idempotency-Key."""
    gate = toss.hold("cancel")
    process = asyncio.create_task(cancel_payment(cmd, deps))
    await gate.arrived.wait()
    process.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await process
    key = toss.calls_of("cancel")[-1].idempotency_key
    assert key is not None
    return key


async def toss_applies(toss: FakeGateway, payment: Payment, amount: int, key: str) -> None:
    """What Toss did with the call it received from the process that died."""
    assert payment.payment_key is not None
    await toss.cancel(
        payment_key=payment.payment_key,
        reason="changed my mind",
        amount=amount,
        idempotency_key=key,
    )


async def test_a_cancel_call_whose_process_died_is_noted_before_the_reconcilers_replay(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    """kill -9 while Toss works on the cancel: Toss refunds, nobody records its answer. The
    cancel.requested row names the call's key, and the reconciler says the call was sent and
    its answer never recorded, once, before its replay of that key settles it."""
    payment = await paid(deps, toss)
    key = await killed_in_flight(canceling(payment, 4000), deps, toss)
    await toss_applies(toss, payment, 4000, key)
    assert trail_types(store, payment.id)[-1] == "cancel.requested"
    assert key_of(store.audit_of(payment.id)[-1]) == key

    clock.advance(seconds=60)
    await reconcile_due(deps)

    settled = store.payment(payment.id)
    assert (settled.status, settled.balance_amount, settled.pending_cancel_amount) == (
        PaymentStatus.PARTIAL_CANCELED,
        11000,
        0,
    )
    assert len(toss.applied_of("cancel")) == 1
    trail = store.audit_of(payment.id)
    types = trail_types(store, payment.id)
    assert types.count("cancel.answer_unrecorded") == 1
    note = types.index("cancel.answer_unrecorded")
    [noted] = [e for e in trail if e.type == "cancel.answer_unrecorded"]
    assert (str(noted.status), key_of(noted)) == ("unknown", key)
    replays = [n for n, e in enumerate(trail) if e.type == "pg.cancel"]
    assert replays and all(note < n and key_of(trail[n]) == key for n in replays)
    assert types.index("cancel.requested") < note < types.index("reconcile.settled")


async def test_a_cancel_whose_answer_was_recorded_gets_no_such_row(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    payment = await paid(deps, toss)
    toss.apply_then_fail("cancel")  # the answer lost, its pg.cancel row written
    with pytest.raises(PgTimeout):
        await cancel_payment(canceling(payment, 4000), deps)
    clock.advance(seconds=60)
    await reconcile_due(deps)
    assert store.payment(payment.id).pending_cancel_amount == 0
    assert "cancel.answer_unrecorded" not in trail_types(store, payment.id)


async def test_another_cancels_answer_is_not_taken_for_the_dead_calls(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    """After the dead process's hold on the turn ran out, a second cancel went through: its
    pg.cancel row comes after the first cancel's cancel.requested row, but under its own key."""
    payment = await paid(deps, toss)
    first = await killed_in_flight(canceling(payment, 4000), deps, toss)
    clock.advance(seconds=11)
    await cancel_payment(canceling(payment, 1000), deps)

    clock.advance(seconds=60)
    await reconcile_due(deps)

    notes = [e for e in store.audit_of(payment.id) if e.type == "cancel.answer_unrecorded"]
    assert [key_of(e) for e in notes] == [first]
    assert store.payment(payment.id).balance_amount == 10000  # Toss never ran the first: now


async def test_a_second_pass_of_the_reconciler_notes_nothing_more(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    """The first pass noted the call, then could not reach Toss: its next pass, which settles
    the cancel, writes no second note."""
    payment = await paid(deps, toss)
    key = await killed_in_flight(canceling(payment, 4000), deps, toss)
    await toss_applies(toss, payment, 4000, key)
    toss.fail_next("lookup", GatewayUnknown("PROVIDER_ERROR", "busy"))

    clock.advance(seconds=60)
    await reconcile_due(deps)
    assert store.payment(payment.id).pending_cancel_amount == 4000
    clock.advance(seconds=600)
    await reconcile_due(deps)

    assert store.payment(payment.id).pending_cancel_amount == 0
    assert trail_types(store, payment.id).count("cancel.answer_unrecorded") == 1


async def test_the_same_request_sent_again_after_the_crash_notes_the_dead_call_first(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    """The shop sends its request again (its Idempotency-Key taken over from the process that
    died): the call the dead process sent is noted before the one sent again, under the same
    key, and the reconciler finds nothing more to note."""
    payment = await paid(deps, toss)
    request = replace(canceling(payment, 4000), request_key="a1b2c3d4e5f6a7b8c9d0e1f2a3b4")
    key = await killed_in_flight(request, deps, toss)
    clock.advance(seconds=11)  # the dead process's hold on the turn ran out

    again = await cancel_payment(request, deps)

    assert (again.balance_amount, again.pending_cancel_amount) == (11000, 0)
    trail = store.audit_of(payment.id)
    types = trail_types(store, payment.id)
    assert types[-2:] == ["cancel.answer_unrecorded", "pg.cancel"]
    assert [key_of(e) for e in trail[-2:]] == [key, key]
    clock.advance(seconds=3600)
    await reconcile_due(deps)
    assert trail_types(store, payment.id).count("cancel.answer_unrecorded") == 1
