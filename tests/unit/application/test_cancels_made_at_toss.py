"""A payment canceled at Toss (its console) while a cancel of ours was on the way: ours can never
be carried out, and Sunap must end it, book Toss's cancel and say so, instead of holding the
payment paid for good (found by the convergence audit: a full refund at Toss left Sunap DONE,
its cancel pending, every reconcile pass changing nothing)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sunap.application.adopt import adopt_gateway_state
from sunap.application.cancel_payment import cancel_payment
from sunap.application.confirm_payment import confirm_payment
from sunap.application.deps import Deps
from sunap.application.errors import PaymentRejected, PgTimeout
from sunap.application.ports.gateway import GatewayCancel, GatewayPayment, GatewayUnknown
from sunap.application.reconcile import reconcile_due
from sunap.domain.errors import NotConfirmableStatus
from sunap.domain.payment import CancelStatus, PaymentMethod, PaymentStatus
from tests.fakes.clock import FakeClock
from tests.fakes.gateway import FakeGateway
from tests.fakes.payments import NOW, payment_in
from tests.fakes.uow import InMemoryStore
from tests.unit.application.test_cancel_use_case import canceling, event_types, paid, unanswered
from tests.unit.application.test_confirm_use_case import confirming, ready
from tests.unit.webhooks.inbox import InMemoryWebhookInbox
from tests.unit.webhooks.scenes import status_changed
from tests.unit.webhooks.test_webhook_processing import deliver

S = PaymentStatus


@pytest.fixture
def inbox() -> InMemoryWebhookInbox:
    return InMemoryWebhookInbox()


async def cancel_at_toss(toss: FakeGateway, payment_key: str, amount: int | None = None) -> None:
    """A cancel made in Toss's console, with a key of its own: Sunap is not told."""
    await toss.cancel(
        payment_key=payment_key, reason="console", amount=amount, idempotency_key="console-1"
    )


async def test_a_cancel_after_a_full_cancel_at_toss_is_refused_and_books_tosss_cancel(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment = await paid(deps, toss, amount=20000)
    assert payment.payment_key is not None
    await cancel_at_toss(toss, payment.payment_key)

    with pytest.raises(PaymentRejected) as refused:
        await cancel_payment(canceling(payment, 5000), deps)

    assert refused.value.pg_code == "ALREADY_CANCELED_PAYMENT"
    after = store.payment(payment.id)
    assert (after.status, after.balance_amount, after.pending_cancel_amount) == (
        S.CANCELED,
        0,
        0,
    )
    assert [(c.amount, c.status) for c in after.cancels] == [
        (5000, CancelStatus.FAILED),
        (20000, CancelStatus.DONE),
    ]
    assert event_types(store, payment.id)[-1] == "payment.canceled"


async def test_a_pending_cancel_overtaken_by_a_full_cancel_at_toss_is_ended_by_the_reconciler(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    payment = await paid(deps, toss, amount=20000)
    assert payment.payment_key is not None
    await unanswered(canceling(payment, 5000), deps, toss)  # not carried out at Toss
    await cancel_at_toss(toss, payment.payment_key)

    clock.advance(seconds=10)
    await reconcile_due(deps)

    after = store.payment(payment.id)
    assert (after.status, after.balance_amount, after.pending_cancel_amount) == (
        S.CANCELED,
        0,
        0,
    )
    failed = [c for c in after.cancels if c.status is CancelStatus.FAILED]
    assert [(c.amount, c.failure and c.failure.code) for c in failed] == [
        (5000, "ALREADY_CANCELED_PAYMENT")
    ]
    assert not after.has_unknown_outcome
    assert event_types(store, payment.id)[-1] == "payment.canceled"


async def test_our_cancels_that_toss_may_have_run_are_not_ended_until_their_replays_say(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    """Two pending cancels of 5,000: Toss ran the first (its answer lost), not the second; then
    the rest was canceled in Toss's console. Toss lists a 5,000 cancel: either of ours may be it,
    so neither is ended on the record alone; the replays name which, and the other is ended."""
    payment = await paid(deps, toss, amount=20000)
    assert payment.payment_key is not None
    toss.apply_then_fail("cancel")
    with pytest.raises(PgTimeout):
        await cancel_payment(canceling(payment, 5000), deps)
    await unanswered(canceling(payment, 5000), deps, toss)
    await cancel_at_toss(toss, payment.payment_key)  # the remaining 15,000

    clock.advance(seconds=10)
    await reconcile_due(deps)

    after = store.payment(payment.id)
    assert (after.status, after.balance_amount, after.pending_cancel_amount) == (
        S.CANCELED,
        0,
        0,
    )
    assert sorted((c.amount, c.status.value) for c in after.cancels) == [
        (5000, "DONE"),
        (5000, "FAILED"),
        (15000, "DONE"),
    ]
    assert len(toss.applied_of("cancel")) == 2  # the first 5,000 and the console's 15,000


async def test_a_cancel_refused_as_already_canceled_is_refused_even_with_a_toss_cancel_of_its_amount(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    """Toss's console refunded 5,000, then the rest. Our 5,000 is refused
    ALREADY_CANCELED_PAYMENT: Toss never ran it, though Toss lists a 5,000 cancel (the
    console's), which must not be credited to the merchant's request."""
    payment = await paid(deps, toss, amount=20000)
    assert payment.payment_key is not None
    await cancel_at_toss(toss, payment.payment_key, 5000)
    await toss.cancel(
        payment_key=payment.payment_key, reason="console", amount=None, idempotency_key="console-2"
    )

    with pytest.raises(PaymentRejected) as refused:
        await cancel_payment(canceling(payment, 5000), deps)

    assert refused.value.pg_code == "ALREADY_CANCELED_PAYMENT"
    after = store.payment(payment.id)
    assert (after.status, after.balance_amount) == (S.CANCELED, 0)
    assert sorted((c.amount, c.status.value) for c in after.cancels) == [
        (5000, "DONE"),
        (5000, "FAILED"),
        (15000, "DONE"),
    ]


async def test_a_full_cancel_toss_ran_for_less_than_we_held_is_not_ended_by_a_webhook(
    inbox: InMemoryWebhookInbox, deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    """Found by review: a full cancel is sent without an amount, so Toss cancels what it has
    left. After 5,000 refunded in Toss's console, ours (20,000 held) ran at Toss for 15,000 and
    its answer was lost; a webhook's look-up lists 5,000 and 15,000 and a balance of 0. Nothing
    there says ours was refused: it stays pending until its own replay names its transaction."""
    payment = await paid(deps, toss, amount=20000)
    assert payment.payment_key is not None
    await cancel_at_toss(toss, payment.payment_key, 5000)
    toss.apply_then_fail("cancel")
    request = replace(canceling(payment), request_key="merchant-request-1")
    with pytest.raises(PgTimeout):
        await cancel_payment(request, deps)

    await deliver(status_changed(payment.payment_key, "CANCELED"), inbox, deps)

    ours = store.payment(payment.id).cancels[0]
    assert (ours.amount, ours.status) == (20000, CancelStatus.PENDING)
    again = await cancel_payment(request, deps)  # the merchant's retry: its cancel, sent again
    assert again.status is S.CANCELED and again.balance_amount == 0
    done = again.find_cancel(ours.id)
    assert done is not None and (done.amount, done.status) == (15000, CancelStatus.DONE)
    assert sorted(c.amount for c in again.cancels) == [
        5000,
        15000,
    ]  # Toss's books, as Toss has them


async def test_a_full_cancel_after_a_refund_at_toss_books_what_toss_refunded_for_each(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    """Sent without an amount, the full cancel refunds the 15,000 Toss had left, not the 20,000
    Sunap held: it is booked at 15,000, and the console's 5,000 before it, in Toss's order."""
    payment = await paid(deps, toss, amount=20000)
    assert payment.payment_key is not None
    await cancel_at_toss(toss, payment.payment_key, 5000)
    request = replace(canceling(payment), request_key="merchant-request-2")

    answer = await cancel_payment(request, deps)

    assert (answer.status, answer.balance_amount, answer.pending_cancel_amount) == (
        S.CANCELED,
        0,
        0,
    )
    truth = toss.payment(payment.payment_key)
    assert sorted((c.amount, c.transaction_key) for c in answer.cancels) == sorted(
        (c.amount, c.transaction_key) for c in truth.cancels
    )
    ours = answer.find_cancel("cxl_merchant-request-2")
    assert ours is not None and ours.amount == 15000
    events = store.events_of(payment.id)[-2:]
    assert [(e.type, e.amount) for e in events] == [
        ("payment.partially_canceled", 5000),
        ("payment.canceled", 15000),
    ]
    trail = store.audit_of(payment.id)
    booked = {(a.type, (a.response_data or {}).get("amount")) for a in trail[-2:]}
    assert booked == {("cancel.external", 5000), ("cancel.refunded_less", 15000)}


def test_a_refund_above_what_our_cancel_holds_is_booked_by_nobody_but_a_person(
    deps: Deps,
) -> None:
    """Toss's answer to our full cancel's own key refunded 20,000; the cancel holds 15,000 (our
    books count a 5,000 refund Toss never made). Nothing is booked on a guess."""
    payment = payment_in(S.DONE, amount=20000)
    payment.begin_cancel(
        cancel_id="cxl_ghost",
        reason="ghost",
        amount=5000,
        idempotency_key="ghost",
        has_refund_account=False,
        now=NOW,
    )
    payment.complete_cancel("cxl_ghost", transaction_key="tx-ghost", canceled_at=NOW, now=NOW)
    payment.begin_cancel(
        cancel_id="cxl_full",
        reason="full",
        amount=None,
        idempotency_key="full",
        has_refund_account=False,
        now=NOW,
    )
    truth = GatewayPayment(
        payment_key="pk_test",
        order_id=payment.order_id,
        status=S.CANCELED,
        total_amount=20000,
        balance_amount=0,
        currency="KRW",
        method=PaymentMethod.CARD,
        approved_at=NOW,
        cancels=(GatewayCancel(20000, "full", NOW, "tx-full"),),
        last_transaction_key="tx-full",
    )

    adopt_gateway_state(payment, truth, deps, answered_cancels={"cxl_full": "tx-full"})

    assert payment.needs_review and payment.next_reconcile_at is None
    assert (payment.balance_amount, payment.pending_cancel_amount) == (15000, 15000)
    assert payment.find_cancel("cxl_full").status is CancelStatus.PENDING  # type: ignore[union-attr]


async def test_a_console_refund_the_ambiguous_webhook_left_is_booked_by_the_reconciler(
    inbox: InMemoryWebhookInbox,
    deps: Deps,
    toss: FakeGateway,
    store: InMemoryStore,
    clock: FakeClock,
) -> None:
    """Found by review: two cancels of 5,000 ran at Toss with their answers lost, then 5,000 was
    refunded in Toss's console. The console's webhook cannot tell which 5,000 is whose (two of
    ours are pending at that amount), so it books nothing, rightly. The reconciler's replays then
    name both of ours; but each replay gets the key's first answer, which predates the console's
    refund: adopted as the PG's view, it left the console's 5,000 unbooked for good, Sunap's
    balance 10,000 above Toss's, with nothing left to look at the payment again."""
    payment = await paid(deps, toss, amount=20000)
    assert payment.payment_key is not None
    for _ in range(2):
        toss.apply_then_fail("cancel")
        with pytest.raises(PgTimeout):
            await cancel_payment(canceling(payment, 5000), deps)
    await cancel_at_toss(toss, payment.payment_key, 5000)
    await deliver(status_changed(payment.payment_key, "PARTIAL_CANCELED"), inbox, deps)

    clock.advance(seconds=10)
    await reconcile_due(deps)

    after = store.payment(payment.id)
    truth = toss.payment(payment.payment_key)
    assert (after.balance_amount, after.pending_cancel_amount) == (truth.balance_amount, 0)
    assert sorted((c.amount, c.transaction_key) for c in after.cancels) == sorted(
        (c.amount, c.transaction_key) for c in truth.cancels
    )
    assert event_types(store, payment.id).count("payment.partially_canceled") == 3


async def approved_elsewhere_then_refunded_at_toss(
    deps: Deps, toss: FakeGateway, amount: int, refunded: int
) -> tuple[str, str]:
    """An order approved at Toss by an attempt we lost track of, then refunded in part in Toss's
    console: Sunap holds it READY and learns both only from a confirm's answer or look-up."""
    payment = await ready(deps, amount=amount)
    key = toss.pay_in_window("order-0001", amount)
    await toss.confirm(
        payment_key=key, order_id="order-0001", amount=amount, idempotency_key="lost-attempt"
    )
    await cancel_at_toss(toss, key, refunded)
    return payment.id, key


def external_cancels(store: InMemoryStore, payment_id: str) -> list[object]:
    return [
        (a.response_data or {}).get("amount")
        for a in store.audit_of(payment_id)
        if a.type == "cancel.external"
    ]


async def test_a_refund_at_toss_learned_from_a_confirms_look_up_is_in_the_trail(
    deps: Deps, toss: FakeGateway, store: InMemoryStore
) -> None:
    payment_id, key = await approved_elsewhere_then_refunded_at_toss(deps, toss, 15000, 4000)
    with pytest.raises(NotConfirmableStatus):
        await confirm_payment(confirming(key), deps)  # Toss: already processed; looked up
    after = store.payment(payment_id)
    assert (after.status, after.balance_amount) == (S.PARTIAL_CANCELED, 11000)
    assert external_cancels(store, payment_id) == [4000]  # as the webhook's path books it


async def test_a_refund_at_toss_learned_when_the_reconciler_settles_a_claim_is_in_the_trail(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    payment_id, key = await approved_elsewhere_then_refunded_at_toss(deps, toss, 15000, 15000)
    toss.fail_next("confirm", GatewayUnknown("READ_TIMEOUT", "lost", timed_out=True))
    with pytest.raises(PgTimeout):
        await confirm_payment(confirming(key), deps)
    clock.advance(seconds=60)
    await reconcile_due(deps)
    after = store.payment(payment_id)
    assert (after.status, after.balance_amount) == (S.CANCELED, 0)
    assert external_cancels(store, payment_id) == [15000]
