"""A process that cannot open the stored billing keys (PostgreSQL or MariaDB without
SUNAP_SECRETS_KEY, or a secrets key that is not the one they were sealed with) refuses their
charges before claiming anything, as it refuses to issue one: 503, no payment, nothing sent.
A one-off charge was claimed and answered 502 PG_UNAVAILABLE, left for the reconciler, though
nothing had been or could be sent."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.crypto.fernet_box import FernetSecretBox, new_key
from sunap.application.billing_commands import (
    ChargeBillingKey,
    CreateSubscription,
    IssueBillingKey,
)
from sunap.application.billing_keys import charge_billing_key, issue_billing_key
from sunap.application.billing_policy import BillingPolicy
from sunap.application.billing_scheduler import charge_subscription, run_due
from sunap.application.deps import Deps
from sunap.application.errors import SecretsKeyMissing
from sunap.application.ports.billing import BillingQuery
from sunap.application.ports.payments import PaymentQuery
from sunap.application.secrets import NoSecretBox
from sunap.application.subscriptions import (
    create_subscription,
    pause_subscription,
    resume_subscription,
)
from sunap.domain.periods import Interval
from sunap.domain.subscription import Subscription, SubscriptionStatus
from sunap.entrypoints.metrics import Metrics
from sunap.entrypoints.workers.scheduler import scheduler_worker
from tests.fakes.clock import FakeClock
from tests.fakes.gateway import BILLING_CHARGE, FakeGateway
from tests.support.databases import unique
from tests.support.sql_deps import shop_on_its_own_account

Shop = tuple[Deps, FakeGateway, str, str]


def without_secrets_key(deps: Deps) -> Deps:
    locked = NoSecretBox("SUNAP_SECRETS_KEY is not set.")
    return dataclasses.replace(deps, billing=BillingPolicy(box=locked))


async def payments_of(deps: Deps, tenant_id: str) -> list[str]:
    async with deps.uow() as uow:
        page = await uow.payments.list(tenant_id, PaymentQuery(limit=100))
    return [p.order_id for p in page.items]


def subscription_of(customer_key: str, key_id: str, tenant_id: str) -> CreateSubscription:
    return CreateSubscription(
        tenant_id,
        customer_key,
        key_id,
        plan="pro",
        order_name="Pro plan",
        amount=9900,
        interval=Interval.MONTH,
    )


async def test_a_one_off_charge_and_a_new_subscription_are_refused_with_nothing_claimed(
    shop: Shop,
) -> None:
    deps, toss, tenant_id, key_id = shop
    locked = without_secrets_key(deps)
    async with deps.uow() as uow:
        key = await uow.billing_keys.get(tenant_id, key_id)
    assert key is not None

    with pytest.raises(SecretsKeyMissing, match="Nothing was charged"):
        await charge_billing_key(ChargeBillingKey(tenant_id, key_id, "Extra seats", 4000), locked)
    with pytest.raises(SecretsKeyMissing):
        await create_subscription(subscription_of(key.customer_key, key_id, tenant_id), locked)

    assert await payments_of(deps, tenant_id) == []
    async with deps.uow() as uow:
        subs = await uow.subscriptions.list(tenant_id, BillingQuery())
    assert subs.items == []
    assert toss.calls_of(BILLING_CHARGE) == []


async def test_a_renewal_and_a_resume_are_refused_unclaimed_and_charged_by_a_process_that_can(
    shop: Shop,
) -> None:
    deps, toss, tenant_id, key_id = shop
    locked = without_secrets_key(deps)
    async with deps.uow() as uow:
        key = await uow.billing_keys.get(tenant_id, key_id)
    assert key is not None
    sub = await create_subscription(subscription_of(key.customer_key, key_id, tenant_id), deps)
    assert sub.next_charge_at is not None
    renewal_at = sub.next_charge_at + timedelta(minutes=1)

    line = await charge_subscription(sub.id, locked, renewal_at)

    assert (line.outcome, line.order_id) == ("blocked", f"{sub.id}-p1-a1")
    assert len(await payments_of(deps, tenant_id)) == 1  # the first period's, nothing more
    await pause_subscription(tenant_id, sub.id, deps)
    with pytest.raises(SecretsKeyMissing):
        await resume_subscription(tenant_id, sub.id, locked)
    async with deps.uow() as uow:
        kept = await uow.subscriptions.get(tenant_id, sub.id)
    assert kept is not None and kept.status is SubscriptionStatus.PAUSED
    assert len(toss.calls_of(BILLING_CHARGE)) == 1
    resumed = await resume_subscription(tenant_id, sub.id, deps)
    assert resumed.status is SubscriptionStatus.ACTIVE
    assert sorted(await payments_of(deps, tenant_id)) == [f"{sub.id}-p0-a1", f"{sub.id}-p1-a1"]


async def test_renewals_this_process_cannot_open_hold_back_none_of_the_others(
    fresh_engine: AsyncEngine,
) -> None:
    """A pass took the first `limit` due subscriptions, soonest first, and left the ones it could
    not open due and first in line: with a page of them (51 after a secrets key was dropped),
    every pass said `50 blocked` and no other renewal was ever charged. A blocked one stays due
    for a process that can open it."""
    deps, toss, tenant_id = await shop_on_its_own_account(fresh_engine)  # sealed with K1
    with_k2 = dataclasses.replace(
        deps, billing=BillingPolicy(box=FernetSecretBox([new_key().encode()]))
    )
    sealed_with_k1 = [await subscribed(deps, toss, tenant_id) for _ in range(3)]
    sealed_with_k2 = await subscribed(with_k2, toss, tenant_id)  # due after the three
    assert sealed_with_k2.next_charge_at is not None
    renewal_at = sealed_with_k2.next_charge_at + timedelta(minutes=1)

    lines = await run_due(with_k2, renewal_at, limit=2)  # pages smaller than the blocked ones

    outcomes = {line.subscription_id: line.outcome for line in lines}
    assert outcomes == {s.id: "blocked" for s in sealed_with_k1} | {sealed_with_k2.id: "approved"}
    by_k1 = await run_due(deps, renewal_at, limit=2)  # a process holding K1 charges the rest
    assert {line.subscription_id: line.outcome for line in by_k1} == {
        s.id: "approved" for s in sealed_with_k1
    }
    assert len(toss.calls_of(BILLING_CHARGE)) == 4 + 4  # each first period, then each renewal


async def test_a_pass_paging_on_charges_each_subscription_once(fresh_engine: AsyncEngine) -> None:
    """Periods missed are caught up one a pass, as when a pass was one page: met again on a
    later page of the same pass, the subscription just charged is left to the next."""
    deps, toss, tenant_id = await shop_on_its_own_account(fresh_engine)
    sub = await subscribed(deps, toss, tenant_id)
    assert sub.next_charge_at is not None
    three_months_on = sub.next_charge_at + timedelta(days=62)

    lines = await run_due(deps, three_months_on, limit=1)

    assert [(line.subscription_id, line.outcome) for line in lines] == [(sub.id, "approved")]
    assert [line.order_id for line in await run_due(deps, three_months_on, limit=1)] == [
        f"{sub.id}-p2-a1"
    ]


async def subscribed(deps: Deps, toss: FakeGateway, tenant_id: str) -> Subscription:
    """A new customer's billing key, sealed with `deps`' secrets key, and a monthly plan on it."""
    customer = unique("cust")
    key = await issue_billing_key(
        IssueBillingKey(tenant_id, tenant_id, toss.register_card(customer), customer), deps
    )
    return await create_subscription(subscription_of(customer, key.id, tenant_id), deps)


async def test_the_scheduler_worker_waits_for_its_next_poll_after_a_pass_of_blocked_renewals(
    fresh_engine: AsyncEngine,
) -> None:
    """A pass that charged nothing but found blocked renewals counted them as work done, so the
    worker ran the next pass at once, and the next: the same rows locked and read, a key failing
    to open, over and over without a pause."""
    deps, toss, tenant_id = await shop_on_its_own_account(fresh_engine)  # sealed with K1
    sealed_with_k1 = await subscribed(deps, toss, tenant_id)
    assert sealed_with_k1.next_charge_at is not None
    with_k2 = dataclasses.replace(
        deps,
        billing=BillingPolicy(box=FernetSecretBox([new_key().encode()])),
        clock=FakeClock(sealed_with_k1.next_charge_at + timedelta(minutes=1)),
    )
    step = scheduler_worker(with_k2, Metrics(), poll_seconds=1.0).step

    assert await step() == 0  # nothing done: the worker sleeps until its next poll

    assert [line.outcome for line in await run_due(with_k2)] == ["blocked"]  # still due
