"""Make our payment agree with what the PG says it is. Used after a confirm or cancel answer, by
the reconciler, and by the webhook processor: one place decides how the PG's truth is applied.

Only forward moves are applied (the aggregate's transition table decides), so a stale answer or a
late webhook never moves a payment backwards. One exception, where Toss's record of the money
wins: a payment we closed unpaid (expired, or canceled before anyone paid) that Toss approved all
the same takes the approval, flagged for a person (`_adopt_late_approval`).
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Mapping
from datetime import datetime

from sunap.domain.payment import (
    APPROVED,
    NEVER_APPROVED,
    Approval,
    Cancel,
    CancelStatus,
    Failure,
    Payment,
    PaymentMethod,
    PaymentStatus,
    can_transition,
)

from .deps import Deps
from .ports.gateway import GatewayCancel, GatewayPayment

S = PaymentStatus
log = logging.getLogger("sunap.pg")


class GatewayMismatch(Exception):
    """The PG describes a different order, amount or currency than ours. An incident when money
    moved on either side (`money_moved`); otherwise a window the customer opened for another
    amount, which nothing approved and nobody has to check."""

    def __init__(self, message: str, *, money_moved: bool) -> None:
        super().__init__(message)
        self.money_moved = money_moved


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_same_payment(payment: Payment, gp: GatewayPayment) -> None:
    """The PG's record must be of this very payment: its order, amount, currency and — once we
    hold one — its paymentKey. Anything else is never adopted, whoever's it is."""
    ours = (payment.order_id, payment.amount, payment.currency)
    if (gp.order_id, gp.total_amount, gp.currency) != ours or (
        payment.payment_key is not None and gp.payment_key != payment.payment_key
    ):
        raise GatewayMismatch(
            f"PG reports paymentKey {gp.payment_key}, order {gp.order_id}, {gp.total_amount} "
            f"{gp.currency}; we have {payment.payment_key}, order {payment.order_id}, "
            f"{payment.amount} {payment.currency}.",
            money_moved=gp.status in APPROVED or not _never_approved(payment),
        )


def _never_approved(payment: Payment) -> bool:
    """Nothing of ours was ever approved: waiting for its approval, refused, or closed unpaid."""
    return payment.status in (*NEVER_APPROVED, S.ABORTED) or payment.closed_unpaid


def approval_from(gp: GatewayPayment, status: PaymentStatus) -> Approval:
    return Approval(
        payment_key=gp.payment_key,
        status=status,
        method=gp.method,
        approved_at=gp.approved_at,
        card=gp.card,
        virtual_account=gp.virtual_account,
        easy_pay=gp.easy_pay,
        receipt_url=gp.receipt_url,
        deposit_secret_digest=secret_digest(gp.deposit_secret) if gp.deposit_secret else None,
    )


def next_check_at(payment: Payment) -> datetime | None:
    """When the reconciler must look at a payment whose PG outcome is known: a virtual account
    is checked at its due date, since Toss sends no webhook when one expires."""
    return payment.deposit_due_at


def check_again_soon(payment: Payment, deps: Deps, now: datetime) -> bool:
    """A check this process's open circuit breaker kept from the PG asked nothing, so it uses
    none of the payment's schedule: the payment is looked at again after the schedule's first
    wait (the breaker's pause is about as short), not after the whole current wait, which late
    in the schedule is a day (True). A payment already past the schedule (shortened since) is
    not: its check goes to a person as an asked one would (False)."""
    delays = deps.reconcile_delays
    if payment.reconcile_attempts >= len(delays):
        return False
    payment.schedule_reconcile(now + delays[0])
    return True


def adopt_gateway_state(
    payment: Payment,
    gp: GatewayPayment,
    deps: Deps,
    *,
    answered_cancels: Mapping[str, str] | None = None,
    refused_cancels: Mapping[str, Failure] | None = None,
) -> bool:
    """Apply the PG's view to `payment`. True if anything changed. Raises GatewayMismatch.

    `answered_cancels` maps our cancel id to the PG transaction its own answer named (the
    `lastTransactionKey` of the reply to that cancel's key): exact, where amounts are not.
    `refused_cancels` maps our cancel id to the PG's refusal of its own key as already canceled
    (ALREADY_CANCELED_PAYMENT): the PG answers a key it ran with its first answer, so that
    cancel was never carried out, whatever amounts the PG's list holds; it ends refused before
    any cancel is matched by amount, so another's refund is never credited to it.
    """
    check_same_payment(payment, gp)
    now = deps.clock.now()
    before = (
        payment.status,
        payment.balance_amount,
        payment.pending_cancel_amount,
        payment.needs_review,
    )
    _adopt_approval(payment, gp, now)
    _flag_a_reverted_deposit(payment, gp, now)
    if gp.status in (S.ABORTED, S.EXPIRED) and can_transition(payment.status, gp.status):
        if gp.status is S.ABORTED:
            payment.abort(_failure(gp, "ABORTED"), now)
        else:
            payment.expire(now, gp.failure)
    if (
        gp.account_expired
        and gp.status is S.WAITING_FOR_DEPOSIT
        and payment.status is S.WAITING_FOR_DEPOSIT
    ):
        payment.expire(now, Failure("EXPIRED_PAYMENT", "The virtual account's due date passed."))
    for cancel_id, failure in (refused_cancels or {}).items():  # the PG refused its own key
        if payment.find_cancel(cancel_id) in payment.pending_cancels:
            payment.fail_cancel(cancel_id, failure, now)
    _adopt_cancels(payment, gp, deps, answered_cancels or {})
    return before != (
        payment.status,
        payment.balance_amount,
        payment.pending_cancel_amount,
        payment.needs_review,
    )


def _flag_a_reverted_deposit(payment: Payment, gp: GatewayPayment, now: datetime) -> None:
    """Toss takes a deposit back when the bank reports an error (DONE -> WAITING_FOR_DEPOSIT).
    Payments never move backwards here, so the merchant would go on shipping an order whose
    money never arrived: a person must look. The review queue and its alert say so, and so
    does `payment.review_required` to consumers, who were told `payment.completed`."""
    if (
        gp.status is S.WAITING_FOR_DEPOSIT
        and payment.status is S.DONE
        and payment.method is PaymentMethod.VIRTUAL_ACCOUNT
        and not payment.needs_review
    ):
        log.error("payment %s: Toss took its virtual account's deposit back", payment.id)
        payment.require_review(
            "Toss reports this virtual account waiting for its deposit again (a deposit error): "
            "the money counted as paid did not arrive.",
            now,
        )


LATE_APPROVAL_REASON = (
    "approved at Toss after it was {closed} here: check the order and refund it if it will "
    "not be shipped"
)


def _adopt_approval(payment: Payment, gp: GatewayPayment, now: datetime) -> None:
    approved = gp.status in (S.DONE, S.PARTIAL_CANCELED, S.CANCELED, S.WAITING_FOR_DEPOSIT)
    if not approved:
        return
    if payment.closed_unpaid:
        _adopt_late_approval(payment, gp, now)
    if payment.status in (S.READY, S.IN_PROGRESS):
        waiting = gp.status is S.WAITING_FOR_DEPOSIT
        payment.approve(approval_from(gp, S.WAITING_FOR_DEPOSIT if waiting else S.DONE), now)
    if payment.status is S.WAITING_FOR_DEPOSIT and gp.status in (S.DONE, S.PARTIAL_CANCELED):
        payment.record_deposit(now, gp.approved_at)


def _adopt_late_approval(payment: Payment, gp: GatewayPayment, now: datetime) -> None:
    """Toss approved a payment we had expired or canceled unpaid (confirmed at Toss directly, in
    Toss's last minutes, or after a database restore): the customer paid. The merchant was told
    otherwise, so the payment becomes paid as Toss has it, with `payment.completed`, and waits for
    a person (the review queue, its metric and alert). A virtual account Toss still shows waiting
    past its due date was never paid: not adopted."""
    if gp.status is S.WAITING_FOR_DEPOSIT and gp.account_expired:
        return
    closed = "expired" if payment.status is S.EXPIRED else "canceled"
    log.error(
        "payment %s: Toss approved it (%s) after it was %s here; adopted, flagged for review",
        payment.id,
        gp.status,
        closed,
    )
    waiting = gp.status is S.WAITING_FOR_DEPOSIT
    payment.adopt_late_approval(
        approval_from(gp, S.WAITING_FOR_DEPOSIT if waiting else S.DONE),
        LATE_APPROVAL_REASON.format(closed=closed),
        now,
    )


def _adopt_cancels(
    payment: Payment, gp: GatewayPayment, deps: Deps, answered: Mapping[str, str]
) -> None:
    """Match the PG's cancels to ours: complete pending ones, record ones made elsewhere.

    A cancel's own answer names its transaction, and that transaction's amount is what it
    refunded: a full cancel goes without an amount, so the PG cancels what it has left, less
    than it held where a refund was made elsewhere that we had not heard of. Otherwise a PG
    cancel is matched by amount only when a single pending cancel of ours has that amount. Two
    pending cancels of one amount are left for the reconciler, whose same-key replay of each
    names its transaction: guessing could book one request's refund against the other and leave
    a refund that never happened as done. What is left is booked as made elsewhere; all of it
    in the PG's order, so each event shows the balance the PG had after it.
    """
    known = {c.transaction_key for c in payment.cancels if c.status is CancelStatus.DONE}
    unmatched = [n for n, gc in enumerate(gp.cancels) if gc.transaction_key not in known]
    now = deps.clock.now()
    ours: dict[int, Cancel] = {}  # the PG's cancel (its place in gp.cancels) -> ours it is
    flagged: set[str] = set()  # refunded more than they hold: left pending, matched by nothing
    for cancel in payment.pending_cancels:
        key = answered.get(cancel.id)
        n = next((n for n in unmatched if key and gp.cancels[n].transaction_key == key), None)
        if n is None:
            continue
        unmatched.remove(n)
        if gp.cancels[n].amount > cancel.amount:
            _flag_a_refund_above_the_hold(payment, cancel, gp.cancels[n], now)
            flagged.add(cancel.id)
            continue
        ours[n] = cancel
    waiting = [c for c in payment.pending_cancels if c.id not in _ids(ours) | flagged]
    pending_amounts = Counter(c.amount for c in waiting)
    for cancel in waiting:
        if pending_amounts[cancel.amount] > 1:
            continue
        n = next((n for n in unmatched if gp.cancels[n].amount == cancel.amount), None)
        if n is None:
            continue
        unmatched.remove(n)
        ours[n] = cancel
    elsewhere = _made_elsewhere(payment, gp, ours, unmatched)
    for n, cancel in ours.items():  # first, so what a smaller refund frees fits the others
        if gp.cancels[n].amount < cancel.amount:
            payment.reduce_cancel(cancel.id, gp.cancels[n].amount, now)
    for n, gc in enumerate(gp.cancels):
        if n in ours:
            _complete(payment, ours[n].id, gc, now)
        elif n in elsewhere:
            _record_external_cancel(payment, gc, deps)


def _made_elsewhere(
    payment: Payment, gp: GatewayPayment, ours: Mapping[int, Cancel], unmatched: list[int]
) -> set[int]:
    """The PG's cancels that are none of ours: those that fit in what is left to cancel once
    ours are booked at what the PG refunded for them, and that none of our cancels still
    pending could be (a cancel of one's amount is likely that one; its replay will say)."""
    still_pending = [c for c in payment.pending_cancels if c.id not in _ids(ours)]
    pending_amounts = Counter(c.amount for c in still_pending)
    room = (
        payment.balance_amount
        - sum(gp.cancels[n].amount for n in ours)
        - sum(c.amount for c in still_pending)
    )
    elsewhere: set[int] = set()
    for n in unmatched:
        amount = gp.cancels[n].amount
        if amount > room or pending_amounts[amount]:
            continue
        room -= amount
        elsewhere.add(n)
    return elsewhere


def _ids(ours: Mapping[int, Cancel]) -> set[str]:
    return {cancel.id for cancel in ours.values()}


def _flag_a_refund_above_the_hold(
    payment: Payment, cancel: Cancel, gc: GatewayCancel, now: datetime
) -> None:
    """The PG's answer to our cancel's own key refunded more than the cancel holds: the PG had
    more left than our balance says, so our books are wrong somewhere. Nothing is booked on a
    guess: the cancel stays pending and a person decides."""
    log.error(
        "payment %s: the PG refunded %s for cancel %s, which holds %s",
        payment.id,
        gc.amount,
        cancel.id,
        cancel.amount,
    )
    payment.flag_for_review(
        f"Toss refunded {gc.amount} for cancel {cancel.id}, which held {cancel.amount}: "
        "Toss had more left to cancel than Sunap's balance.",
        now,
    )
    payment.schedule_reconcile(None)  # money moved that our books cannot hold: a person decides


def _complete(payment: Payment, cancel_id: str, gc: GatewayCancel, now: datetime) -> None:
    payment.complete_cancel(
        cancel_id,
        transaction_key=gc.transaction_key,
        canceled_at=gc.canceled_at or now,
        now=now,
    )


def _record_external_cancel(payment: Payment, gc: GatewayCancel, deps: Deps) -> None:
    """A cancel made outside Sunap (Toss's console): book it as it happened."""
    if payment.status not in (S.DONE, S.PARTIAL_CANCELED, S.WAITING_FOR_DEPOSIT):
        return
    now = deps.clock.now()
    cancel_id = deps.ids.new_id("cxl")
    cancel = payment.begin_cancel(
        cancel_id=cancel_id,
        reason=gc.reason or "canceled at the payment gateway",
        amount=gc.amount,
        idempotency_key=f"external:{gc.transaction_key}",
        has_refund_account=True,
        now=now,
    )
    if cancel is not None:
        payment.complete_cancel(
            cancel.id,
            transaction_key=gc.transaction_key,
            canceled_at=gc.canceled_at or now,
            now=now,
        )


def _failure(gp: GatewayPayment, default_code: str) -> Failure:
    return gp.failure or Failure(code=default_code, message="The payment gateway did not approve.")
