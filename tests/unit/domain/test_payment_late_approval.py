"""A payment we closed unpaid (EXPIRED, or CANCELED before anyone paid) that Toss approved all the
same: Toss's record of the money wins. Only `adopt_late_approval` may take it to DONE or
WAITING_FOR_DEPOSIT, flagged for a person, with the event any approval gives; no other verb (a
caller's confirm above all) reopens it, and a payment that was once approved is never reopened."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sunap.domain.errors import IllegalTransition, NotConfirmableStatus
from sunap.domain.payment import Payment, PaymentMethod, PaymentStatus
from tests.fakes.payments import NOW, approval, new_payment, payment_in

S = PaymentStatus
LATER = NOW + timedelta(minutes=3)
REASON = "approved at Toss after it was expired here"


def canceled_unpaid() -> Payment:
    payment = new_payment()
    local = payment.begin_cancel(
        cancel_id="c1",
        reason="r",
        amount=None,
        idempotency_key="k",
        has_refund_account=False,
        now=NOW,
    )
    assert local is None and payment.status is S.CANCELED
    payment.events.clear()
    return payment


@pytest.mark.parametrize("closed", ["expired", "canceled unpaid"])
def test_a_late_approval_reopens_a_payment_closed_unpaid_as_paid_and_flagged(closed: str) -> None:
    payment = payment_in(S.EXPIRED) if closed == "expired" else canceled_unpaid()
    assert payment.closed_unpaid

    payment.adopt_late_approval(approval("pk_late"), REASON, LATER)

    assert payment.status is S.DONE
    assert payment.balance_amount == payment.amount
    assert payment.payment_key == "pk_late" and payment.approved_at == NOW
    assert payment.failure is None and payment.updated_at == LATER
    assert payment.needs_review and payment.review_reason == REASON
    assert [e.type for e in payment.events] == ["payment.completed"]
    assert not payment.closed_unpaid


def test_a_late_virtual_account_waits_for_its_deposit() -> None:
    payment = payment_in(S.EXPIRED)
    payment.adopt_late_approval(
        approval("pk_va", S.WAITING_FOR_DEPOSIT, PaymentMethod.VIRTUAL_ACCOUNT), REASON, LATER
    )
    assert payment.status is S.WAITING_FOR_DEPOSIT and payment.needs_review
    assert [e.type for e in payment.events] == ["payment.waiting_for_deposit"]


@pytest.mark.parametrize(
    "status", [S.READY, S.IN_PROGRESS, S.DONE, S.PARTIAL_CANCELED, S.CANCELED, S.ABORTED]
)
def test_only_a_payment_closed_unpaid_takes_a_late_approval(status: PaymentStatus) -> None:
    """A CANCELED payment here was approved and refunded: it is never reopened."""
    payment = payment_in(status)
    assert not payment.closed_unpaid
    with pytest.raises(IllegalTransition):
        payment.adopt_late_approval(approval(), REASON, LATER)
    assert payment.status is status and payment.events == [] and not payment.needs_review


def test_an_expired_virtual_account_is_not_reopened() -> None:
    """Toss keeps an account past its due date WAITING_FOR_DEPOSIT: it was approved once."""
    payment = payment_in(S.WAITING_FOR_DEPOSIT, method=PaymentMethod.VIRTUAL_ACCOUNT)
    payment.expire(NOW)
    assert not payment.closed_unpaid


def test_a_late_approval_must_be_an_approval() -> None:
    payment = payment_in(S.EXPIRED)
    with pytest.raises(IllegalTransition):
        payment.adopt_late_approval(approval(status=S.ABORTED), REASON, LATER)
    assert payment.status is S.EXPIRED


@pytest.mark.parametrize("closed", ["expired", "canceled unpaid"])
def test_no_other_verb_reopens_a_payment_closed_unpaid(closed: str) -> None:
    payment = payment_in(S.EXPIRED) if closed == "expired" else canceled_unpaid()
    with pytest.raises(NotConfirmableStatus):  # a caller's confirm: 409, nothing sent to Toss
        payment.begin_confirm(payment_key="pk_late", amount=15000, idempotency_key="k2", now=LATER)
    with pytest.raises(IllegalTransition):
        payment.approve(approval("pk_late"), LATER)
    with pytest.raises(IllegalTransition):
        payment.record_deposit(LATER)


def test_a_postponed_expiry_is_forgotten_once_the_payment_leaves_ready() -> None:
    payment = new_payment()
    payment.postpone_expiry(LATER)
    assert payment.expiry_recheck_at == LATER
    payment.begin_confirm(payment_key="pk", amount=15000, idempotency_key="k", now=LATER)
    assert payment.expiry_recheck_at is None
    with pytest.raises(IllegalTransition):
        payment.postpone_expiry(LATER)
