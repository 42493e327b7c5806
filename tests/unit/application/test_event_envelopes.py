"""The outbox's envelopes: each event's `data` is the payment (or subscription) as that event left
it, so several events in one commit (two cancels adopted at once, a refused charge and the cancel
it brings) never contradict their own types."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sunap.application.envelope import EnvelopeFactory
from sunap.domain.payment import PaymentStatus
from sunap.domain.periods import Interval
from sunap.domain.subscription import Dunning, FinalDunning, Subscription
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


SEOUL = ZoneInfo("Asia/Seoul")


def new_subscription() -> Subscription:
    return Subscription.start(
        id="sub_test", tenant_id="tnt_1", pg_account_id="default", customer_key="cust-1",
        billing_key_id="bk_1", plan="pro", order_name="Pro plan", amount=9900, currency="KRW",
        interval=Interval.MONTH, interval_count=1, trial_days=0, metadata=None, now=NOW,
        zone=SEOUL,
    )  # fmt: skip


def subscription_charged_once() -> Subscription:
    sub = new_subscription()
    sub.begin_charge("pay_0", NOW)
    sub.charge_succeeded("pay_0", NOW, SEOUL)
    sub.events.clear()  # committed
    return sub


def refused_commit(sub: Subscription, n: int, dunning: Dunning) -> list[dict[str, Any]]:
    """The envelopes of one refused charge's commit."""
    assert sub.next_charge_at is not None
    now = sub.next_charge_at
    sub.begin_charge(f"pay_{n}", now)
    assert sub.charge_refused(f"pay_{n}", now, dunning)
    envelope = EnvelopeFactory(SequentialIds(), FakeClock(now))
    envelopes = [envelope(sub, event, "shop-a") for event in sub.events]
    sub.events.clear()
    return envelopes


@pytest.mark.parametrize(
    ("final", "ending", "status"),
    [
        (FinalDunning.CANCEL, "subscription.canceled", "CANCELED"),
        (FinalDunning.UNPAID, "subscription.updated", "UNPAID"),
    ],
)
def test_a_refused_charge_shows_the_state_it_left_before_the_status_it_brings(
    final: FinalDunning, ending: str, status: str
) -> None:
    dunning = Dunning(retry_days=(1, 3), final=final)
    sub = subscription_charged_once()

    failed, past_due = refused_commit(sub, 1, dunning)
    assert failed["type"] == "subscription.payment_failed"
    assert (failed["data"]["status"], failed["data"]["failedAttempts"]) == ("ACTIVE", 1)
    assert failed["data"]["nextChargeAt"] == past_due["data"]["nextChargeAt"]  # the retry's
    assert (past_due["type"], past_due["data"]["status"]) == ("subscription.past_due", "PAST_DUE")

    [failed] = refused_commit(sub, 2, dunning)
    assert (failed["data"]["status"], failed["data"]["failedAttempts"]) == ("PAST_DUE", 2)

    failed, ended = refused_commit(sub, 3, dunning)  # the last retry
    assert failed["type"] == "subscription.payment_failed"
    assert (failed["data"]["status"], failed["data"]["failedAttempts"]) == ("PAST_DUE", 3)
    assert failed["data"]["nextChargeAt"] is None  # no retry left
    assert failed["data"]["cancelReason"] is None and failed["data"]["canceledAt"] is None
    assert (ended["type"], ended["data"]["status"]) == (ending, status)
    assert ended["sequence"] == failed["sequence"] + 1


DUNNING = Dunning(retry_days=(1, 3), final=FinalDunning.CANCEL)


def test_a_refused_first_charge_is_a_payment_failed_before_the_cancel_it_brings() -> None:
    """Only `subscription.canceled` was written, though the audit row said payment_failed: a
    consumer counting refused charges missed every refused first charge."""
    sub = new_subscription()
    sub.events.clear()  # committed with its first charge claimed
    sub.begin_charge("pay_0", NOW)
    assert sub.charge_refused("pay_0", NOW, DUNNING)
    envelope = EnvelopeFactory(SequentialIds(), FakeClock(NOW))

    failed, ended = [envelope(sub, event, "shop-a") for event in sub.events]

    assert failed["type"] == "subscription.payment_failed"
    assert (failed["data"]["status"], failed["data"]["nextChargeAt"]) == ("INCOMPLETE", None)
    assert failed["data"]["cancelReason"] is None and failed["data"]["canceledAt"] is None
    assert (ended["type"], ended["data"]["status"]) == ("subscription.canceled", "CANCELED")
    assert ended["data"]["cancelReason"] == "FIRST_CHARGE_FAILED"
    assert ended["sequence"] == failed["sequence"] + 1


def test_a_renewal_refused_under_a_period_end_cancel_is_a_payment_failed_before_it_ends() -> None:
    sub = subscription_charged_once()
    renewal_at = sub.current_period_end
    sub.begin_charge("pay_1", renewal_at)
    sub.cancel(renewal_at, reason="leaving", at_period_end=True)  # taken while Toss answers
    sub.events.clear()
    assert sub.charge_refused("pay_1", renewal_at, DUNNING)
    envelope = EnvelopeFactory(SequentialIds(), FakeClock(renewal_at))

    failed, ended = [envelope(sub, event, "shop-a") for event in sub.events]

    assert failed["type"] == "subscription.payment_failed"
    assert (failed["data"]["status"], failed["data"]["nextChargeAt"]) == ("ACTIVE", None)
    assert failed["data"]["cancelAtPeriodEnd"] is True and failed["data"]["canceledAt"] is None
    assert (ended["type"], ended["data"]["status"]) == ("subscription.canceled", "CANCELED")
    assert (ended["data"]["cancelReason"], ended["sequence"]) == ("leaving", failed["sequence"] + 1)
