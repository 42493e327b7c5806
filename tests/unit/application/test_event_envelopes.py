"""The outbox's envelopes: each event's `data` is the payment as that event left it, so several
events in one commit (two cancels adopted at once) never contradict their own types."""

from __future__ import annotations

from datetime import timedelta

from sunap.application.envelope import EnvelopeFactory
from sunap.domain.payment import PaymentStatus
from tests.fakes.clock import FakeClock
from tests.fakes.ids import SequentialIds
from tests.fakes.payments import NOW, payment_in

LATER = NOW + timedelta(minutes=1)


def test_two_cancels_in_one_commit_each_carry_the_state_they_left() -> None:
    payment = payment_in(PaymentStatus.DONE)  # 15000
    for n, amount in enumerate((2000, 13000), start=1):
        cancel = payment.begin_cancel(
            cancel_id=f"cxl_{n}",
            reason="adopted from Toss",
            amount=amount,
            idempotency_key=f"k{n}",
            has_refund_account=False,
            now=LATER,
        )
        assert cancel is not None
        payment.complete_cancel(cancel.id, transaction_key=f"tx{n}", canceled_at=LATER, now=LATER)
    payment.flag_for_review("checked by the test", LATER)  # changed after the last event
    envelope = EnvelopeFactory(SequentialIds(), FakeClock(LATER))

    partial, whole = (envelope(payment, event, "shop-a") for event in payment.events)

    assert partial["type"] == "payment.partially_canceled"
    assert (partial["data"]["status"], partial["data"]["balanceAmount"]) == (
        "PARTIAL_CANCELED",
        13000,
    )
    assert len(partial["data"]["cancels"]) == 1
    assert partial["tenant"] == whole["tenant"] == "shop-a"  # the name, not the tenant's id
    assert whole["type"] == "payment.canceled"
    assert (whole["data"]["status"], whole["data"]["balanceAmount"]) == ("CANCELED", 0)
    assert whole["data"]["needsReview"]  # the last event shows the payment as committed
    assert (partial["sequence"], whole["sequence"]) == (
        whole["sequence"] - 1,
        payment.event_sequence,
    )
