"""Resolving the review of a flagged payment: only with a note, only when it is flagged."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sunap.domain.errors import InvalidRequest, NotUnderReview
from sunap.domain.payment import PaymentStatus
from tests.fakes.payments import NOW, payment_in

LATER = NOW + timedelta(minutes=5)


def test_resolving_a_review_clears_the_flag_and_hands_back_the_reason() -> None:
    payment = payment_in(PaymentStatus.DONE)
    payment.flag_for_review("Toss says 14000, we say 15000", NOW)
    reason = payment.resolve_review("Checked in the console: refunded the difference", LATER)
    assert reason == "Toss says 14000, we say 15000"
    assert not payment.needs_review and payment.review_reason is None
    assert payment.updated_at == LATER
    assert payment.status is PaymentStatus.DONE and payment.events == []


def test_a_payment_that_is_not_flagged_has_no_review_to_resolve() -> None:
    with pytest.raises(NotUnderReview):
        payment_in(PaymentStatus.DONE).resolve_review("nothing", LATER)


def test_a_review_is_not_resolved_without_saying_how() -> None:
    payment = payment_in(PaymentStatus.IN_PROGRESS)
    payment.flag_for_review("disagrees", NOW)
    with pytest.raises(InvalidRequest):
        payment.resolve_review("   ", LATER)
    assert payment.needs_review


def test_a_resolved_payment_whose_outcome_is_still_unknown_is_asked_about_again_at_once() -> None:
    """Escalated, it had no reconcile left: resolving it without asking again left it
    IN_PROGRESS (or its cancel's amount held) for good."""
    payment = payment_in(PaymentStatus.IN_PROGRESS)
    payment.schedule_reconcile(None, attempts=9)
    payment.flag_for_review("unknown PG outcome after 9 checks", NOW)
    payment.resolve_review("Toss's key was rotated; fixed the setting", LATER)
    assert (payment.next_reconcile_at, payment.reconcile_attempts) == (LATER, 0)
    settled = payment_in(PaymentStatus.DONE)
    settled.flag_for_review("disagrees", NOW)
    settled.resolve_review("checked", LATER)
    assert settled.next_reconcile_at is None
