"""A process that cannot open the stored billing keys (PostgreSQL or MariaDB without
SUNAP_SECRETS_KEY, or a secrets key that is not the one they were sealed with) refuses their
charges before claiming anything, as it refuses to issue one: 503, no payment, nothing sent.
A one-off charge was claimed and answered 502 PG_UNAVAILABLE, left for the reconciler, though
nothing had been or could be sent."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from sunap.application.billing_commands import ChargeBillingKey, CreateSubscription
from sunap.application.billing_keys import charge_billing_key
from sunap.application.billing_policy import BillingPolicy
from sunap.application.billing_scheduler import charge_subscription
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
from sunap.domain.subscription import SubscriptionStatus
from tests.fakes.gateway import BILLING_CHARGE, FakeGateway

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
