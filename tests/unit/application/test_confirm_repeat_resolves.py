"""Confirm rule 6 (docs/api.md, Confirm rules): after a timeout, "a repeated confirm call also resolves it"."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from sunap.application.commands import ConfirmPayment, CreatePayment
from sunap.application.confirm_payment import confirm_payment
from sunap.application.confirm_verdicts import NotThisOrders
from sunap.application.create_payment import create_payment
from sunap.application.deps import Deps
from sunap.application.errors import PgTimeout, PgUnavailable
from sunap.application.outcomes import apply_confirm_verdict
from sunap.application.ports.gateway import GatewayUnknown, PgOperation
from sunap.application.reconcile import reconcile_due
from sunap.domain.errors import ConfirmInProgress
from sunap.domain.payment import Payment, PaymentStatus
from tests.fakes.clock import FakeClock
from tests.fakes.gateway import FakeGateway
from tests.fakes.uow import InMemoryStore


async def paid_in_window(
    deps: Deps, toss: FakeGateway, order_id: str
) -> tuple[Payment, ConfirmPayment]:
    """A READY payment of 15000 its customer has paid in Toss's window, and its confirm."""
    payment = await create_payment(
        CreatePayment(
            tenant_id="t", pg_account_id="default", order_name="x", amount=15000, order_id=order_id
        ),
        deps,
    )
    key = toss.pay_in_window(order_id, 15000)
    return payment, ConfirmPayment(tenant_id="t", payment_key=key, order_id=order_id, amount=15000)


async def test_a_repeated_confirm_after_a_lost_answer_resolves_the_payment(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment, cmd = await paid_in_window(deps, toss, "order-0001")
    toss.apply_then_fail("confirm")
    with pytest.raises(PgTimeout):
        await confirm_payment(cmd, deps)
    again = await confirm_payment(cmd, deps)  # the client retries, as docs/api.md invites it to
    assert again.status is PaymentStatus.DONE
    assert store.payment(payment.id).status is PaymentStatus.DONE
    assert len(toss.applied_of("confirm")) == 1


async def test_a_repeated_confirm_after_a_call_toss_never_took_sends_the_claim_again(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    """The first call failed before Toss applied it (a 500) and has ended: its second
    transaction says so in the trail. A repeat then sends the claim again under its own key
    (Toss runs a key it never saw), as the reconciler would, with no wait for it."""
    payment, cmd = await paid_in_window(deps, toss, "o-0002")
    toss.fail_next("confirm", GatewayUnknown("FAILED_INTERNAL_SYSTEM_PROCESSING", "500"))
    with pytest.raises(PgUnavailable):
        await confirm_payment(cmd, deps)

    again = await confirm_payment(cmd, deps)

    assert again.status is PaymentStatus.DONE
    sent = toss.calls_of("confirm")
    assert len(sent) == 2 and sent[0].idempotency_key == sent[1].idempotency_key
    assert len(toss.applied_of("confirm")) == 1
    trail = [(e.type, e.status) for e in store.audit_of(payment.id)]
    assert trail[1:] == [
        ("confirm.claimed", "ok"),
        ("pg.confirm", "unknown"),
        ("confirm.unanswered", "unknown"),
        ("pg.lookup", "ok"),
        ("pg.confirm", "ok"),
    ]


async def test_a_repeat_whose_resend_is_unanswered_too_is_in_progress_and_the_reconciler_settles_it(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    payment, cmd = await paid_in_window(deps, toss, "o-0004")
    toss.fail_next("confirm", GatewayUnknown("FAILED_INTERNAL_SYSTEM_PROCESSING", "500"), times=2)
    with pytest.raises(PgUnavailable):
        await confirm_payment(cmd, deps)
    with pytest.raises(ConfirmInProgress):
        await confirm_payment(cmd, deps)
    assert store.payment(payment.id).status is PaymentStatus.IN_PROGRESS
    clock.advance(seconds=60)
    await reconcile_due(deps)
    assert store.payment(payment.id).status is PaymentStatus.DONE
    sent = toss.calls_of("confirm")
    assert len(sent) == 3 and len({c.idempotency_key for c in sent}) == 1
    assert len(toss.applied_of("confirm")) == 1


async def test_a_repeated_confirm_while_the_first_call_runs_only_reads_and_records_the_read(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    """Rule 4: while the claim's own call may still be on its way, a repeated confirm sends no
    second confirm call; the look-up it makes is in the payment's trail like any call to Toss."""
    payment, cmd = await paid_in_window(deps, toss, "o-0003")
    gate = toss.hold("confirm")
    first = asyncio.create_task(confirm_payment(cmd, deps))
    await gate.arrived.wait()

    with pytest.raises(ConfirmInProgress):
        await confirm_payment(cmd, deps)

    assert len(toss.calls_of("confirm")) == 1
    assert [e.type for e in store.audit_of(payment.id)].count("pg.lookup") == 1
    gate.release()
    assert (await first).status is PaymentStatus.DONE


async def test_a_verdict_on_an_earlier_claim_of_the_same_key_leaves_the_new_claim_alone(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    """A claim released to READY and claimed again with the same paymentKey has a new outbound
    key: a late verdict judged on the old claim (say, 'not this order's') must not release the
    new one while its call is at Toss."""
    _, cmd = await paid_in_window(deps, toss, "o-0004")
    gate = toss.hold("confirm")
    running = asyncio.create_task(confirm_payment(cmd, deps))
    await gate.arrived.wait()
    claimed = store.by_order_id("t", "o-0004")
    assert claimed is not None and claimed.status is PaymentStatus.IN_PROGRESS
    earlier = dataclasses.replace(claimed, confirm_idempotency_key="sunap-confirm-earlier-claim")

    await apply_confirm_verdict(
        earlier, NotThisOrders("NOT_FOUND_PAYMENT", ()), deps, PgOperation.LOOKUP
    )

    assert store.payment(claimed.id).status is PaymentStatus.IN_PROGRESS
    gate.release()
    assert (await running).status is PaymentStatus.DONE
