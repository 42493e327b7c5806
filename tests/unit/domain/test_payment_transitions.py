"""The transition table, restated from docs/toss.md, Payment statuses, and checked pair by pair."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from itertools import product

import pytest

from sunap.domain.errors import IllegalTransition, NotCancelableStatus
from sunap.domain.payment import (
    NEVER_APPROVED,
    TRANSITIONS,
    Failure,
    Payment,
    PaymentMethod,
    PaymentStatus,
    can_transition,
)
from tests.fakes.payments import NOW, approval, payment_in

S = PaymentStatus
ALLOWED = {
    (S.READY, S.IN_PROGRESS),
    (S.READY, S.CANCELED),
    (S.READY, S.EXPIRED),
    (S.IN_PROGRESS, S.READY),  # the PG says the paymentKey was never this order's
    (S.IN_PROGRESS, S.DONE),
    (S.IN_PROGRESS, S.WAITING_FOR_DEPOSIT),
    (S.IN_PROGRESS, S.ABORTED),
    (S.IN_PROGRESS, S.EXPIRED),
    (S.WAITING_FOR_DEPOSIT, S.DONE),
    (S.WAITING_FOR_DEPOSIT, S.CANCELED),
    (S.WAITING_FOR_DEPOSIT, S.EXPIRED),
    (S.DONE, S.PARTIAL_CANCELED),
    (S.DONE, S.CANCELED),
    (S.DONE, S.WAITING_FOR_DEPOSIT),  # a failed deposit goes back to waiting
    (S.PARTIAL_CANCELED, S.PARTIAL_CANCELED),
    (S.PARTIAL_CANCELED, S.CANCELED),
}
ALL_PAIRS = list(product(S, S))


def test_the_table_names_every_status() -> None:
    assert set(TRANSITIONS) == set(S)


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS, ids=lambda s: str(s))
def test_a_transition_is_legal_exactly_when_the_table_lists_it(
    current: PaymentStatus, target: PaymentStatus
) -> None:
    assert can_transition(current, target) is ((current, target) in ALLOWED)


def test_no_payment_comes_back_to_a_never_approved_status() -> None:
    """The PostgreSQL repository reads a locked payment in such a status without its cancels
    (adapters/sql/payments.py): only true while nothing cancelable leads back into them."""
    leading_in = {current for current, targets in TRANSITIONS.items() if targets & NEVER_APPROVED}
    assert leading_in <= NEVER_APPROVED


@pytest.mark.parametrize("status", sorted(NEVER_APPROVED))
def test_a_never_approved_payment_takes_no_cancel(status: PaymentStatus) -> None:
    payment = payment_in(status)
    with contextlib.suppress(NotCancelableStatus):
        payment.begin_cancel(
            cancel_id="c1",
            reason="changed my mind",
            amount=None,
            idempotency_key="k1",
            has_refund_account=False,
            now=NOW,
        )
    assert payment.cancels == []


@pytest.mark.parametrize("final", [S.CANCELED, S.ABORTED, S.EXPIRED])
def test_a_final_status_goes_nowhere(final: PaymentStatus) -> None:
    assert not any(can_transition(final, target) for target in S)


def _abort(p: Payment) -> None:
    p.abort(Failure("REJECT_CARD_PAYMENT", "refused"), NOW)


def _approve_done(p: Payment) -> None:
    p.approve(approval(p.payment_key or "pk_test"), NOW)


def _approve_waiting(p: Payment) -> None:
    p.approve(
        approval(p.payment_key or "pk_test", S.WAITING_FOR_DEPOSIT, PaymentMethod.VIRTUAL_ACCOUNT),
        NOW,
    )


# Each verb and the status it moves a payment to.
VERBS: dict[str, tuple[Callable[[Payment], None], PaymentStatus]] = {
    "abort": (_abort, S.ABORTED),
    "expire": (lambda p: p.expire(NOW), S.EXPIRED),
    "record_deposit": (lambda p: p.record_deposit(NOW), S.DONE),
    "approve_done": (_approve_done, S.DONE),
    "approve_waiting": (_approve_waiting, S.WAITING_FOR_DEPOSIT),
}


def _verb_allowed(current: PaymentStatus, target: PaymentStatus, verb: str) -> bool:
    if verb.startswith("approve") and current is S.READY:
        # An approval we learn of without our own claim passes through IN_PROGRESS.
        return True
    return (current, target) in ALLOWED


@pytest.mark.parametrize(("current", "verb"), list(product(S, VERBS)), ids=str)
def test_every_verb_moves_only_along_the_table(current: PaymentStatus, verb: str) -> None:
    payment = payment_in(current)
    act, target = VERBS[verb]
    if _verb_allowed(current, target, verb):
        act(payment)
        assert payment.status is target
        assert len(payment.events) == 1
    else:
        with pytest.raises(IllegalTransition):
            act(payment)
        assert payment.status is current
        assert payment.events == []


def test_an_approval_that_is_not_an_approval_is_refused() -> None:
    payment = payment_in(S.IN_PROGRESS)
    with pytest.raises(IllegalTransition):
        payment.approve(approval(status=S.ABORTED), NOW)
    assert payment.status is S.IN_PROGRESS
