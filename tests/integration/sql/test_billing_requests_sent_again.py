"""A billing request sent again under its Idempotency-Key once the key let go of it (its process
died mid-call: the claim lapses after 90 s) is answered by what it made, never made twice: a
one-off charge, and a subscription with its first charge. Toss applied the first call and its
answer was lost; the request sent again must not charge the customer a second time."""

from __future__ import annotations

import pytest

from sunap.application.billing_commands import (
    ChargeBillingKey,
    CreateSubscription,
    IssueBillingKey,
)
from sunap.application.billing_keys import (
    charge_billing_key,
    delete_billing_key,
    issue_billing_key,
    issue_idempotency_key,
)
from sunap.application.deps import Deps
from sunap.application.errors import IdempotencyKeyReused, PgError
from sunap.application.ports.billing import BillingQuery
from sunap.application.ports.gateway import GatewayUnknown
from sunap.application.subscriptions import create_subscription
from sunap.domain.payment import PaymentStatus
from sunap.domain.periods import Interval
from sunap.domain.subscription import SubscriptionStatus
from tests.fakes.gateway import BILLING_CHARGE, BILLING_DELETE, BILLING_ISSUE, FakeGateway
from tests.support.databases import unique

REQUEST = "0123456789abcdef0123456789ab"  # what IdempotentCall.request_key gives a request


async def test_a_one_off_charge_sent_again_charges_once(
    shop: tuple[Deps, FakeGateway, str, str],
) -> None:
    deps, toss, tenant_id, key_id = shop
    request = ChargeBillingKey(tenant_id, key_id, "Extra seats", 4000, request_key=REQUEST)
    toss.apply_then_fail(BILLING_CHARGE)  # charged at Toss, the answer lost
    with pytest.raises(PgError):
        await charge_billing_key(request, deps)

    again = await charge_billing_key(request, deps)

    assert again.status is PaymentStatus.DONE
    assert len(toss.applied_of(BILLING_CHARGE)) == 1
    answered = await charge_billing_key(request, deps)  # and again: the same, no call
    assert answered.id == again.id and len(toss.applied_of(BILLING_CHARGE)) == 1
    with pytest.raises(IdempotencyKeyReused):
        await charge_billing_key(
            ChargeBillingKey(tenant_id, key_id, "Extra seats", 5000, request_key=REQUEST), deps
        )


async def test_a_subscription_sent_again_is_one_subscription_charged_once(
    shop: tuple[Deps, FakeGateway, str, str],
) -> None:
    deps, toss, tenant_id, key_id = shop
    async with deps.uow() as uow:
        key = await uow.billing_keys.get(tenant_id, key_id)
    assert key is not None
    request = CreateSubscription(
        tenant_id,
        key.customer_key,
        key_id,
        plan="pro",
        order_name="Pro plan",
        amount=9900,
        interval=Interval.MONTH,
        request_key=REQUEST,
    )
    toss.apply_then_fail(BILLING_CHARGE)
    with pytest.raises(PgError):
        await create_subscription(request, deps)

    again = await create_subscription(request, deps)

    assert again.status is SubscriptionStatus.ACTIVE
    assert len(toss.applied_of(BILLING_CHARGE)) == 1
    answered = await create_subscription(request, deps)
    assert answered.id == again.id and len(toss.applied_of(BILLING_CHARGE)) == 1


async def test_a_card_registration_sent_again_keeps_the_one_billing_key_toss_issued(
    shop: tuple[Deps, FakeGateway, str, str],
) -> None:
    """Toss issued the billing key but its answer was lost: the registration sent again (the
    authKey is used once at Toss) gets Toss's first answer under the same Toss key, where a new
    key was refused and left a billing key no one keeps."""
    deps, toss, tenant_id, _ = shop
    customer = unique("cust")
    register = IssueBillingKey(tenant_id, tenant_id, toss.register_card(customer), customer)
    toss.apply_then_fail(BILLING_ISSUE)
    with pytest.raises(PgError) as lost:
        await issue_billing_key(register, deps)
    # Nothing reconciles a registration: the answer says how to learn its outcome, not that it
    # is "being checked".
    assert "Send the same request again (the same authKey)" in lost.value.message
    assert "being checked" not in lost.value.message

    kept = await issue_billing_key(register, deps)
    again = await issue_billing_key(register, deps)

    assert again.id == kept.id and kept.customer_key == customer
    sent = [
        c
        for c in toss.calls_of(BILLING_ISSUE)
        if c.idempotency_key == issue_idempotency_key(register)
    ]
    assert len(sent) == 3  # one Toss key for the registration, however often it is sent
    assert len(toss.applied_of(BILLING_ISSUE)) == 2  # the fixture's card, and this one once
    async with deps.uow() as uow:
        listed = await uow.billing_keys.list(tenant_id, BillingQuery(customer_key=customer))
    assert [k.id for k in listed.items] == [kept.id]


@pytest.mark.parametrize(
    "lost",
    [
        GatewayUnknown("READ_TIMEOUT", "no answer in time", timed_out=True),
        GatewayUnknown("CONNECTION_DROPPED", "the connection dropped"),
    ],
    ids=["timed-out", "dropped"],
)
async def test_a_registration_or_deletion_whose_answer_never_came_says_to_send_it_again(
    shop: tuple[Deps, FakeGateway, str, str], lost: GatewayUnknown
) -> None:
    """Both answered "the outcome is being checked", but nothing checks either: only the caller
    sending it again learns it."""
    deps, toss, tenant_id, key_id = shop
    customer = unique("cust")
    register = IssueBillingKey(tenant_id, tenant_id, toss.register_card(customer), customer)
    toss.fail_next(BILLING_ISSUE, lost)
    with pytest.raises(PgError) as issuing:
        await issue_billing_key(register, deps)
    toss.fail_next(BILLING_DELETE, lost)
    with pytest.raises(PgError) as deleting:
        await delete_billing_key(tenant_id, key_id, deps)

    assert (
        issuing.value.code
        == deleting.value.code
        == ("PG_TIMEOUT" if lost.timed_out else "PG_UNAVAILABLE")
    )
    assert "Send the same request again (the same authKey)" in issuing.value.message
    assert "Send the same DELETE again" in deleting.value.message
    assert "being checked" not in issuing.value.message + deleting.value.message
    assert (await issue_billing_key(register, deps)).customer_key == customer  # as it says
    assert (await delete_billing_key(tenant_id, key_id, deps)).deleted_at is not None
