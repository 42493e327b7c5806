"""Resume on a subscription canceled at period end undoes the cancel and charges nothing: the
period already paid goes on and renews at its end, with an audit row and a `subscription.resumed`
event. Any other subscription that is not PAUSED or UNPAID is refused, unchanged."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sunap.application.audit_kinds import AuditType
from sunap.application.billing_commands import CancelSubscription
from sunap.application.billing_scheduler import charge_subscription
from sunap.application.deps import Deps
from sunap.application.subscriptions import cancel_subscription, resume_subscription
from sunap.domain.billing_key import BillingKey
from sunap.domain.errors import SubscriptionNotChangeable
from sunap.domain.subscription import Subscription, SubscriptionStatus
from tests.fakes.clock import FakeClock
from tests.fakes.gateway import FakeGateway
from tests.fakes.uow import InMemoryStore
from tests.unit.domain.test_subscription_lifecycle import new

TENANT = "tnt_1"


def subscribed(store: InMemoryStore, deps: Deps, *, trial_days: int = 0) -> Subscription:
    """A subscription on an active billing key: ACTIVE with its first period paid, or
    TRIALING with `trial_days`."""
    now = deps.clock.now()
    key = BillingKey.issue(
        id="bk_1",
        tenant_id=TENANT,
        pg_account_id="default",
        customer_key="cust-1",
        card=None,
        sealed_credential=b"sealed",
        credential_digest="digest",
        now=now,
    )
    sub = new(trial_days, now, id="sub_1", tenant_id=TENANT, zone=deps.billing.zone)
    if not trial_days:
        sub.begin_charge("pay_1", now)
        sub.charge_succeeded("pay_1", now, deps.billing.zone)
    sub.events.clear()
    store.billing_keys[key.id] = key
    store.subscriptions[sub.id] = sub
    return sub


async def cancel_at_period_end(deps: Deps) -> Subscription:
    return await cancel_subscription(
        CancelSubscription(TENANT, "sub_1", reason="customer asked", at_period_end=True), deps
    )


@pytest.mark.parametrize("trial_days", [0, 14], ids=["active", "trialing"])
async def test_resume_undoes_a_period_end_cancel_without_charging(
    deps: Deps, store: InMemoryStore, toss: FakeGateway, clock: FakeClock, trial_days: int
) -> None:
    before = subscribed(store, deps, trial_days=trial_days)
    canceled = await cancel_at_period_end(deps)
    assert canceled.cancel_at_period_end
    clock.set(clock.now() + timedelta(days=3))

    resumed = await resume_subscription(TENANT, "sub_1", deps)

    assert (resumed.status, resumed.cancel_at_period_end, resumed.cancel_reason) == (
        before.status,
        False,
        None,
    )
    # The period already paid (or the trial) goes on; the next charge is where it was.
    assert resumed.current_period_start == before.current_period_start
    assert resumed.current_period_end == before.current_period_end
    assert resumed.next_charge_at == before.next_charge_at
    assert resumed.charge_serial == before.charge_serial and resumed.charging_payment_id is None
    assert toss.calls == [] and store.payments == {}
    assert store.subscriptions["sub_1"].cancel_at_period_end is False
    assert [e.type for e in store.billing_events][-1] == "subscription.resumed"
    assert [e.type for e in store.audit][-1] == AuditType.SUBSCRIPTION_RESUMED


async def test_resume_of_an_active_subscription_not_canceled_is_refused_unchanged(
    deps: Deps, store: InMemoryStore, toss: FakeGateway
) -> None:
    before = subscribed(store, deps)

    with pytest.raises(SubscriptionNotChangeable, match="this one is ACTIVE"):
        await resume_subscription(TENANT, "sub_1", deps)

    after = store.subscriptions["sub_1"]
    assert (after.status, after.next_charge_at) == (
        SubscriptionStatus.ACTIVE,
        before.next_charge_at,
    )
    assert toss.calls == [] and store.billing_events == [] and store.audit == []


async def test_a_period_end_cancel_is_not_undone_once_the_period_has_ended(
    deps: Deps, store: InMemoryStore, toss: FakeGateway, clock: FakeClock
) -> None:
    sub = subscribed(store, deps)
    await cancel_at_period_end(deps)
    clock.set(sub.current_period_end + timedelta(hours=1))  # the scheduler has not run yet

    with pytest.raises(SubscriptionNotChangeable):
        await resume_subscription(TENANT, "sub_1", deps)

    line = await charge_subscription("sub_1", deps, clock.now())
    assert line.outcome == "ended"  # not a new period charged
    assert store.payments == {}
