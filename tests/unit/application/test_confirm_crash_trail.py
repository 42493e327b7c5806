"""A confirm whose process died between sending the call to Toss and recording its answer
(kill -9): the call is still in the payment's trail, by its claim row and the reconciler's
settlement (docs/reliability.md, Crash points)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from sunap.application.confirm_payment import confirm_payment
from sunap.application.deps import Deps
from sunap.application.errors import PgTimeout
from sunap.application.ports.gateway import GatewayUnknown
from sunap.application.reconcile import reconcile_due
from sunap.domain.payment import PaymentStatus
from tests.fakes.clock import FakeClock
from tests.fakes.gateway import FakeGateway
from tests.fakes.uow import InMemoryStore
from tests.unit.application.test_confirm_repeat_resolves import paid_in_window


def trail_types(store: InMemoryStore, payment_id: str) -> list[str]:
    return [str(e.type) for e in store.audit_of(payment_id)]


async def test_a_confirm_call_whose_process_died_is_in_the_trail_when_the_reconciler_settles(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    """kill -9 while Toss works on the confirm: Toss applies the call, nobody records its
    answer. The claim row names the call's Idempotency-Key, and the reconciler's settlement
    says the call was sent and its answer never recorded (RELIABILITY: every request Toss
    received is a row), once."""
    payment, cmd = await paid_in_window(deps, toss, "o-0009")
    gate = toss.hold("confirm")
    process = asyncio.create_task(confirm_payment(cmd, deps))
    await gate.arrived.wait()
    process.cancel()  # the process dies with its call at Toss
    with contextlib.suppress(asyncio.CancelledError):
        await process
    claim = store.payment(payment.id).confirm_idempotency_key
    assert claim is not None
    await toss.confirm(  # what Toss did with the call it received
        payment_key=cmd.payment_key, order_id="o-0009", amount=15000, idempotency_key=claim
    )
    assert trail_types(store, payment.id)[-1] == "confirm.claimed"

    clock.advance(seconds=60)
    await reconcile_due(deps)
    clock.advance(seconds=600)
    await reconcile_due(deps)

    assert store.payment(payment.id).status is PaymentStatus.DONE
    trail = store.audit_of(payment.id)
    [claimed] = [e for e in trail if e.type == "confirm.claimed"]
    assert (claimed.request_data or {})["claim"] == claim
    types = trail_types(store, payment.id)
    assert types.count("confirm.answer_unrecorded") == 1
    unrecorded = types.index("confirm.answer_unrecorded")
    assert types.index("confirm.claimed") < unrecorded < types.index("reconcile.settled")
    [note] = [e for e in trail if e.type == "confirm.answer_unrecorded"]
    assert (note.request_data or {})["claim"] == claim


async def test_a_confirm_whose_answer_was_recorded_gets_no_such_row(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    payment, cmd = await paid_in_window(deps, toss, "o-0010")
    toss.apply_then_fail("confirm")  # the answer lost, its pg.confirm row written
    with pytest.raises(PgTimeout):
        await confirm_payment(cmd, deps)
    clock.advance(seconds=60)
    await reconcile_due(deps)
    assert store.payment(payment.id).status is PaymentStatus.DONE
    assert "confirm.answer_unrecorded" not in trail_types(store, payment.id)


async def test_the_call_is_noted_before_a_replay_of_it_that_settles_nothing(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    """The reconciler's first look finds Toss still holding the order open and sends the claim
    again (same key), undecided: the row about the dead process's call comes before the
    replay's own pg.confirm row, which is not that call's."""
    payment, cmd = await paid_in_window(deps, toss, "o-0011")
    gate = toss.hold("confirm")
    process = asyncio.create_task(confirm_payment(cmd, deps))
    await gate.arrived.wait()
    process.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await process
    toss.fail_next("confirm", GatewayUnknown("PROVIDER_ERROR", "busy"))

    clock.advance(seconds=60)
    await reconcile_due(deps)
    assert store.payment(payment.id).status is PaymentStatus.IN_PROGRESS
    clock.advance(seconds=600)
    await reconcile_due(deps)

    assert store.payment(payment.id).status is PaymentStatus.DONE
    types = trail_types(store, payment.id)
    assert types.count("confirm.answer_unrecorded") == 1
    assert types.index("confirm.answer_unrecorded") < types.index("pg.confirm")
