"""A cancel whose answer was lost, when the account's Toss secret key is replaced before it is
settled. Toss keeps an Idempotency-Key per secret key: sent again under the new key, the cancel
would be a new one, a second refund if the first went through (the fake Toss scopes its keys
the same way)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sunap.application.audit_kinds import AuditType
from sunap.application.cancel_payment import cancel_payment
from sunap.application.deps import Deps
from sunap.application.errors import PgTimeout, PgUnavailable
from sunap.application.reconcile import SURELY_ANSWERED, reconcile_due
from sunap.domain.payment import CancelStatus, PaymentStatus
from tests.fakes.clock import FakeClock
from tests.fakes.gateway import FakeGateway
from tests.fakes.uow import InMemoryStore
from tests.unit.application.test_cancel_use_case import paid, same_request, unanswered

S = PaymentStatus


async def test_a_cancel_toss_ran_is_not_sent_again_under_the_new_key(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    payment = await paid(deps, toss)
    toss.apply_then_fail("cancel")  # Toss refunded 4,000; the answer was lost
    with pytest.raises(PgTimeout):
        await cancel_payment(same_request(payment), deps)
    toss.replace_key()

    with pytest.raises(PgUnavailable, match="secret key was replaced"):
        await cancel_payment(same_request(payment), deps)  # the merchant's retry
    clock.advance(seconds=int(SURELY_ANSWERED.total_seconds()) + 60)
    await reconcile_due(deps)  # Toss's record shows the refund: booked, not sent again

    settled = store.payment(payment.id)
    assert (settled.status, settled.balance_amount, settled.pending_cancel_amount) == (
        S.PARTIAL_CANCELED,
        11000,
        0,
    )
    assert len(toss.applied_of("cancel")) == 1
    assert len(toss.calls_of("cancel")) == 1


async def test_a_cancel_toss_never_ran_goes_out_under_the_new_key_once_surely_answered(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    payment = await paid(deps, toss)
    await unanswered(same_request(payment), deps, toss)  # Toss's 500: nothing refunded
    toss.replace_key()

    clock.advance(seconds=60)
    await reconcile_due(deps)  # too soon to be sure the first call is over: nothing sent
    assert len(toss.calls_of("cancel")) == 1
    assert store.payment(payment.id).pending_cancel_amount == 4000

    clock.advance(seconds=int(SURELY_ANSWERED.total_seconds()))
    await reconcile_due(deps)

    settled = store.payment(payment.id)
    assert (settled.balance_amount, settled.pending_cancel_amount) == (11000, 0)
    assert len(toss.applied_of("cancel")) == 1
    assert [c.pg_key for c in settled.cancels] == [toss.key_id]
    rekeyed = [e for e in store.audit_of(payment.id) if e.type == AuditType.CANCEL_REKEYED]
    assert len(rekeyed) == 1
    again = await cancel_payment(same_request(payment), deps)  # the retry gets the answer
    assert again.balance_amount == 11000
    assert len(toss.applied_of("cancel")) == 1


async def test_a_refund_toss_holds_that_we_have_not_booked_keeps_the_cancel_from_going_out(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    """Two pending cancels of one amount, one of them carried out: Toss's refund could be
    either's. Neither is sent again under the new key; a person decides."""
    payment = await paid(deps, toss)
    await unanswered(same_request(payment), deps, toss)
    toss.apply_then_fail("cancel")
    with pytest.raises(PgTimeout):
        await cancel_payment(replace(same_request(payment), request_key="another-request"), deps)
    toss.replace_key()

    for _ in range(12):  # the reconciler's whole schedule
        clock.advance(seconds=86400)
        await reconcile_due(deps)

    held = store.payment(payment.id)
    assert len(toss.applied_of("cancel")) == 1
    assert len(toss.calls_of("cancel")) == 2
    assert [c.status for c in held.cancels] == [CancelStatus.PENDING, CancelStatus.PENDING]
    assert held.needs_review


async def test_a_cancel_recorded_before_keys_were_kept_is_replayed_as_before(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    payment = await paid(deps, toss)
    toss.apply_then_fail("cancel")
    with pytest.raises(PgTimeout):
        await cancel_payment(same_request(payment), deps)
    async with deps.uow() as uow:  # a row written by an earlier release: no key recorded
        fresh = await uow.payments.get(payment.tenant_id, payment.id, for_update=True)
        assert fresh is not None
        fresh.cancels[0].pg_key = None
        fresh.updated_at = clock.now()
        await uow.commit()

    clock.advance(seconds=60)
    await reconcile_due(deps)

    assert len(toss.calls_of("cancel")) == 2  # replayed under the same key, as before
    assert store.payment(payment.id).balance_amount == 11000
