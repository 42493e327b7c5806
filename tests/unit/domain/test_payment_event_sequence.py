"""Event sequence numbers let a consumer order one payment's events across topics."""

from __future__ import annotations

from sunap.domain import events as ev
from sunap.domain.payment import Failure, PaymentStatus
from tests.fakes.payments import CONFIRM_KEY, NOW, approval, new_payment

S = PaymentStatus


def test_the_sequence_rises_by_one_with_every_event_of_a_payment() -> None:
    payment = new_payment()
    payment.begin_confirm(payment_key="pk_1", amount=15000, idempotency_key=CONFIRM_KEY, now=NOW)
    payment.approve(approval("pk_1"), NOW)
    for n in range(3):
        cancel = payment.begin_cancel(
            cancel_id=f"c{n}",
            reason="r",
            amount=5000,
            idempotency_key=f"k{n}",
            has_refund_account=False,
            now=NOW,
        )
        assert cancel is not None
        payment.complete_cancel(cancel.id, transaction_key=None, canceled_at=NOW, now=NOW)
    assert [e.sequence for e in payment.events] == [1, 2, 3, 4, 5]
    assert payment.event_sequence == 5
    assert [e.type for e in payment.events] == [
        "payment.created",
        "payment.completed",
        "payment.partially_canceled",
        "payment.partially_canceled",
        "payment.canceled",
    ]
    assert {e.payment_id for e in payment.events} == {"pay_test"}


def test_steps_that_change_no_status_record_no_event() -> None:
    payment = new_payment()
    payment.events.clear()
    payment.begin_confirm(payment_key="pk_1", amount=15000, idempotency_key=CONFIRM_KEY, now=NOW)
    assert payment.events == []
    payment.abort(Failure("REJECT_CARD_PAYMENT", "refused"), NOW)
    assert payment.events == [ev.PaymentFailed(payment_id="pay_test", sequence=2)]


def test_the_sequence_continues_after_events_were_handed_to_the_outbox() -> None:
    payment = new_payment()
    payment.events.clear()  # what a unit of work does once the events are written
    payment.expire(NOW)
    assert payment.events == [ev.PaymentExpired(payment_id="pay_test", sequence=2)]


def test_every_event_type_has_its_public_name() -> None:
    assert {t.type for t in ev.EVENT_TYPES} == {
        "payment.created",
        "payment.completed",
        "payment.failed",
        "payment.canceled",
        "payment.partially_canceled",
        "payment.waiting_for_deposit",
        "payment.expired",
        "payment.review_required",
    }
