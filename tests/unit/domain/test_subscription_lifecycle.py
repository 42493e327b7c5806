"""The Subscription aggregate: charges, dunning, trial, cancel, pause and resume."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sunap.domain import events as ev
from sunap.domain.errors import IllegalTransition, SubscriptionNotChangeable
from sunap.domain.periods import Interval
from sunap.domain.subscription import (
    TRANSITIONS,
    Dunning,
    FinalDunning,
    Subscription,
    SubscriptionStatus,
)

S = SubscriptionStatus
SEOUL = ZoneInfo("Asia/Seoul")
T0 = datetime(2026, 1, 31, 1, 0, tzinfo=UTC)  # 10:00 on Jan 31 in Seoul
LADDER = Dunning(retry_days=(1, 3, 5), final=FinalDunning.CANCEL)


def new(
    trial_days: int = 0,
    now: datetime = T0,
    *,
    id: str = "sub_test",
    tenant_id: str = "tnt_1",
    zone: ZoneInfo = SEOUL,
) -> Subscription:
    """A monthly plan of 9,900 for cust-1, paid with billing key bk_1."""
    return Subscription.start(
        id=id,
        tenant_id=tenant_id,
        pg_account_id="default",
        customer_key="cust-1",
        billing_key_id="bk_1",
        plan="pro",
        order_name="Pro plan",
        amount=9900,
        currency="KRW",
        interval=Interval.MONTH,
        interval_count=1,
        trial_days=trial_days,
        metadata=None,
        now=now,
        zone=zone,
    )


def pay(sub: Subscription, now: datetime, payment_id: str = "pay_x") -> None:
    sub.begin_charge(payment_id, now)
    sub.charge_succeeded(payment_id, now, SEOUL)


def refuse(sub: Subscription, now: datetime, dunning: Dunning = LADDER) -> None:
    sub.begin_charge("pay_r", now)
    sub.charge_refused("pay_r", now, dunning)


def test_a_new_subscription_without_trial_is_incomplete_and_due_now() -> None:
    sub = new()
    assert sub.status is S.INCOMPLETE
    assert sub.is_due(T0)
    assert sub.next_charge().order_id == "sub_test-p0-a1"
    assert sub.events == [ev.SubscriptionCreated(subscription_id="sub_test", sequence=1)]


def test_the_first_charge_makes_it_active_and_the_next_falls_due_a_month_later_clamped() -> None:
    sub = new()
    pay(sub, T0)
    assert sub.status is S.ACTIVE
    assert sub.current_period_start == T0
    assert sub.current_period_end == datetime(2026, 2, 28, 1, 0, tzinfo=UTC)
    assert sub.next_charge_at == sub.current_period_end
    pay(sub, sub.current_period_end)
    assert sub.current_period_end == datetime(2026, 3, 31, 1, 0, tzinfo=UTC)
    assert sub.next_charge().order_id == "sub_test-p2-a1"


def test_a_claimed_charge_is_not_due_again_until_it_settles() -> None:
    sub = new()
    sub.begin_charge("pay_1", T0)
    assert not sub.is_due(T0 + timedelta(days=40))
    with pytest.raises(IllegalTransition):
        sub.begin_charge("pay_2", T0)


def test_a_settlement_of_another_payment_is_refused() -> None:
    sub = new()
    sub.begin_charge("pay_1", T0)
    with pytest.raises(IllegalTransition):
        sub.charge_succeeded("pay_2", T0, SEOUL)


def test_a_refused_first_charge_cancels_the_subscription() -> None:
    sub = new()
    refuse(sub, T0)
    assert sub.status is S.CANCELED
    assert sub.cancel_reason == "FIRST_CHARGE_FAILED"
    assert sub.next_charge_at is None


def test_the_dunning_ladder_retries_on_days_after_the_first_refusal_then_cancels() -> None:
    sub = new()
    pay(sub, T0)
    due = sub.current_period_end
    refuse(sub, due)
    assert (sub.status, sub.failed_attempts) == (S.PAST_DUE, 1)
    assert sub.next_charge_at == due + timedelta(days=1)
    assert sub.next_charge().order_id == "sub_test-p1-a2"
    refuse(sub, due + timedelta(days=1))
    assert sub.next_charge_at == due + timedelta(days=3)
    refuse(sub, due + timedelta(days=3))
    assert sub.next_charge_at == due + timedelta(days=5)
    assert sub.status is S.PAST_DUE
    refuse(sub, due + timedelta(days=5))
    assert sub.status is S.CANCELED
    assert sub.cancel_reason == "PAYMENT_FAILED"
    types = [e.type for e in sub.events]
    assert types.count("subscription.payment_failed") == 4
    assert types.count("subscription.past_due") == 1
    assert types[-1] == "subscription.canceled"


def test_the_final_step_can_leave_it_unpaid_instead() -> None:
    sub = new()
    pay(sub, T0)
    one_retry = Dunning(retry_days=(2,), final=FinalDunning.UNPAID)
    refuse(sub, sub.current_period_end, one_retry)
    refuse(sub, sub.current_period_end + timedelta(days=2), one_retry)
    assert sub.status is S.UNPAID
    assert sub.next_charge_at is None


def test_a_success_during_dunning_restores_the_period_from_its_anchor() -> None:
    sub = new()
    pay(sub, T0)
    due = sub.current_period_end
    refuse(sub, due)
    pay(sub, due + timedelta(days=1))
    assert (sub.status, sub.failed_attempts) == (S.ACTIVE, 0)
    assert sub.current_period_start == due
    assert sub.current_period_end == datetime(2026, 3, 31, 1, 0, tzinfo=UTC)
    assert sub.next_charge().order_id == "sub_test-p2-a1"


def test_a_trial_charges_first_at_its_end() -> None:
    sub = new(trial_days=14)
    assert sub.status is S.TRIALING
    assert not sub.is_due(T0 + timedelta(days=13))
    trial_end = T0 + timedelta(days=14)
    assert sub.trial_end == trial_end
    pay(sub, trial_end)
    assert sub.status is S.ACTIVE
    assert sub.current_period_start == trial_end
    assert sub.current_period_end == datetime(2026, 3, 14, 1, 0, tzinfo=UTC)


def test_cancel_at_period_end_keeps_it_active_until_then() -> None:
    sub = new()
    pay(sub, T0)
    sub.cancel(T0, reason="too expensive", at_period_end=True)
    assert sub.status is S.ACTIVE and sub.cancel_at_period_end
    assert sub.ends_at_period_end_instead_of_renewing
    sub.end_at_period_end(sub.current_period_end)
    assert sub.status is S.CANCELED
    assert sub.cancel_reason == "too expensive"


def test_cancel_now_cancels_at_once_and_a_canceled_subscription_cannot_change() -> None:
    sub = new()
    pay(sub, T0)
    sub.cancel(T0, reason=None, at_period_end=False)
    assert sub.status is S.CANCELED
    with pytest.raises(SubscriptionNotChangeable):
        sub.change(T0, amount=100)
    with pytest.raises(SubscriptionNotChangeable):
        sub.pause(T0)


@pytest.mark.parametrize(
    "change",
    [
        lambda sub, at: sub.pause(at),
        lambda sub, at: sub.cancel(at, reason="leaving", at_period_end=False),
    ],
    ids=["pause", "cancel-now"],
)
def test_a_charge_in_flight_is_not_paused_or_canceled_under_it(change: Any) -> None:
    """Paused under a renewal that then succeeded, the paid period was never recorded and every
    resume claimed its orderId again (409 DUPLICATE_ORDER_ID); canceled under it, the customer
    was charged after the merchant was told CANCELED."""
    sub = new()
    pay(sub, T0)
    renewal = sub.current_period_end
    sub.begin_charge("pay_renewal", renewal)
    with pytest.raises(SubscriptionNotChangeable, match="pay_renewal"):
        change(sub, renewal)
    assert (sub.status, sub.charging_payment_id) == (S.ACTIVE, "pay_renewal")
    assert sub.charge_succeeded("pay_renewal", renewal, SEOUL)
    change(sub, renewal)  # once settled, it goes through
    assert sub.status in (S.PAUSED, S.CANCELED)


def test_a_period_end_cancel_taken_under_a_renewal_ends_nothing_until_that_charge_settles() -> None:
    """Ended under the charge, the customer was charged for a subscription the merchant had been
    told was CANCELED: the charge alone decides, and a paid one pays the period ending next."""
    sub = new()
    pay(sub, T0)
    renewal = sub.current_period_end
    sub.begin_charge("pay_renewal", renewal)
    sub.cancel(renewal, reason="leaving", at_period_end=True)
    assert not sub.has_run_out(renewal + timedelta(days=1))
    assert not sub.is_due(renewal + timedelta(days=1))
    with pytest.raises(IllegalTransition):
        sub.end_at_period_end(renewal + timedelta(days=1))
    assert sub.charge_succeeded("pay_renewal", renewal, SEOUL)
    assert (sub.status, sub.current_period_start) == (S.ACTIVE, renewal)
    assert not sub.has_run_out(renewal + timedelta(days=1))  # the paid period goes on
    assert not sub.is_due(sub.current_period_end)  # and is not renewed at its end
    sub.end_at_period_end(sub.current_period_end)
    assert (sub.status, sub.canceled_at) == (S.CANCELED, sub.current_period_end)


def test_a_period_end_cancel_taken_under_a_renewal_can_be_undone_while_the_charge_waits() -> None:
    """A renewal is claimed once its period has ended, so the undo came after that end and was
    refused as if the subscription had ended, though the charge still decides: the merchant could
    not take the cancel back, and a paid charge then ran the subscription on toward its end."""
    sub = new()
    pay(sub, T0)
    renewal = sub.current_period_end
    sub.begin_charge("pay_renewal", renewal)
    sub.cancel(renewal, reason="leaving", at_period_end=True)
    later = renewal + timedelta(minutes=5)
    assert sub.resume(later, SEOUL) is False  # undone, nothing charged by the resume
    assert (sub.cancel_at_period_end, sub.cancel_reason) == (False, None)
    assert sub.charge_succeeded("pay_renewal", renewal, SEOUL)
    assert sub.status is S.ACTIVE and sub.is_due(sub.current_period_end)  # renews as before


def test_a_charge_settling_after_its_billing_key_was_deleted_pays_for_nothing() -> None:
    sub = new()
    pay(sub, T0)
    sub.begin_charge("pay_late", sub.current_period_end)
    sub.billing_key_deleted(sub.current_period_end)
    assert not sub.charge_succeeded("pay_late", sub.current_period_end, SEOUL)
    assert sub.status is S.CANCELED
    assert sub.charging_payment_id is None


def test_a_period_end_cancel_takes_effect_at_the_period_end_and_a_resume_undoes_its_reason() -> (
    None
):
    sub = new()
    pay(sub, T0)
    end = sub.current_period_end
    sub.cancel(T0, reason="leaving", at_period_end=True)
    sub.pause(T0)
    sub.resume(T0 + timedelta(days=1), SEOUL)
    assert (sub.cancel_at_period_end, sub.cancel_reason) == (False, None)
    other = new()
    pay(other, T0)
    other.cancel(T0, reason="leaving", at_period_end=True)
    other.end_at_period_end(end + timedelta(hours=3))  # the scheduler came by later
    assert (other.canceled_at, other.cancel_reason) == (end, "leaving")


def test_a_change_to_nothing_new_records_no_event() -> None:
    sub = new()
    pay(sub, T0)
    before = len(sub.events)
    sub.change(T0, amount=sub.amount, plan=None)
    assert len(sub.events) == before
    sub.change(T0, amount=sub.amount + 100)
    assert len(sub.events) == before + 1


def test_pause_stops_charges_and_resume_starts_a_new_period_due_at_once() -> None:
    sub = new()
    pay(sub, T0)
    sub.pause(T0 + timedelta(days=3))
    assert sub.status is S.PAUSED and sub.next_charge_at is None
    later = T0 + timedelta(days=50)
    sub.resume(later, SEOUL)
    assert sub.status is S.ACTIVE
    assert sub.is_due(later)
    assert sub.next_charge().order_id == "sub_test-p1-a1"  # never reuses an orderId
    pay(sub, later)
    assert sub.current_period_start == later
    with pytest.raises(SubscriptionNotChangeable):
        sub.resume(later, SEOUL)


def test_a_deleted_billing_key_cancels_a_live_subscription() -> None:
    sub = new(trial_days=7)
    sub.billing_key_deleted(T0)
    assert (sub.status, sub.cancel_reason) == (S.CANCELED, "BILLING_KEY_DELETED")


def test_canceled_is_final_in_the_transition_table() -> None:
    assert TRANSITIONS[S.CANCELED] == frozenset()
    assert all(S.INCOMPLETE not in targets for targets in TRANSITIONS.values())


def test_events_are_numbered_per_subscription() -> None:
    sub = new()
    pay(sub, T0)
    sub.pause(T0)
    assert [e.position for e in sub.events] == [1, 2, 3]
    assert {e.subject for e in sub.events} == {"sub_test"}


def test_a_resume_after_refusals_charges_a_fresh_attempt_and_dunning_starts_over() -> None:
    """A resume reset the attempt number with the dunning count: its charge reused the refused
    attempt's orderId (a1) and was 409 DUPLICATE_ORDER_ID forever."""
    sub = new()
    pay(sub, T0)
    due = sub.current_period_end
    refuse(sub, due)  # p1-a1
    sub.pause(due)
    sub.resume(due + timedelta(days=2), SEOUL)
    assert sub.failed_attempts == 0  # dunning counts afresh
    assert sub.next_charge().order_id == "sub_test-p1-a2"
    resumed = due + timedelta(days=2)
    refuse(sub, resumed)  # p1-a2
    assert (sub.status, sub.failed_attempts) == (S.PAST_DUE, 1)
    assert sub.next_charge_at == resumed + timedelta(days=1)  # the ladder from this refusal
    sub.pause(resumed)
    sub.resume(resumed + timedelta(days=1), SEOUL)
    assert sub.next_charge().order_id == "sub_test-p1-a3"
    pay(sub, resumed + timedelta(days=1))
    assert sub.next_charge().order_id == "sub_test-p2-a1"


def test_a_resume_of_an_unpaid_subscription_charges_past_every_refused_attempt() -> None:
    sub = new()
    pay(sub, T0)
    one_retry = Dunning(retry_days=(2,), final=FinalDunning.UNPAID)
    due = sub.current_period_end
    refuse(sub, due, one_retry)  # p1-a1
    refuse(sub, due + timedelta(days=2), one_retry)  # p1-a2
    assert sub.status is S.UNPAID
    sub.resume(due + timedelta(days=9), SEOUL)
    assert sub.next_charge().order_id == "sub_test-p1-a3"


def test_a_refused_renewal_of_a_subscription_canceled_at_period_end_ends_it_without_dunning() -> (
    None
):
    """The period-end cancel came while the renewal was in flight: its refusal went into dunning
    and a retry charged a month the merchant had canceled."""
    sub = new()
    pay(sub, T0)
    end = sub.current_period_end
    sub.begin_charge("pay_renewal", end)
    sub.cancel(end, reason="leaving", at_period_end=True)
    sub.charge_refused("pay_renewal", end + timedelta(seconds=4), LADDER)
    assert (sub.status, sub.cancel_reason, sub.canceled_at) == (S.CANCELED, "leaving", end)
    assert sub.next_charge_at is None and not sub.is_due(end + timedelta(days=1))
    assert [e.type for e in sub.events][-1] == "subscription.canceled"
