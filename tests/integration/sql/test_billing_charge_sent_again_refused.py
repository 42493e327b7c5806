"""A charge whose outcome is unknown, sent again and refused, on every database, Toss played by the
fake: the refusal is of that call only when Toss no longer knew the charge's Idempotency-Key (it
keeps one per secret key, and for 15 days), and the first call may have been charged before the
billing key went. Toss's record of the order decides: paid there, the charge is paid here.

Before, the refusal was booked as it came: a renewal Toss had charged was ABORTED, its
subscription PAST_DUE, and dunning charged the customer for the period again."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from sunap.application.billing_commands import ChargeBillingKey, CreateSubscription
from sunap.application.billing_keys import charge_billing_key, delete_billing_key
from sunap.application.billing_scheduler import ChargeLine, charge_subscription
from sunap.application.deps import Deps
from sunap.application.errors import PgError
from sunap.application.ports.gateway import GatewayUnknown
from sunap.application.reconcile import ReconcileOutcome, reconcile_payment
from sunap.application.subscriptions import create_subscription
from sunap.domain.payment import Payment, PaymentStatus
from sunap.domain.periods import Interval
from sunap.domain.subscription import Subscription, SubscriptionStatus
from tests.fakes.gateway import BILLING_CHARGE, LOOKUP, FakeGateway

S = SubscriptionStatus
Shop = tuple[Deps, FakeGateway, str, str]
REQUEST = "fedcba9876543210fedcba987654"  # what IdempotentCall.request_key gives a request


@pytest.fixture
def at_once(shop: Shop) -> Shop:
    """The shop, its reconciler's checks due at once (the test runs the reconciler itself)."""
    deps, toss, tenant_id, key_id = shop
    return dataclasses.replace(deps, reconcile_delays=(timedelta(0),) * 4), toss, tenant_id, key_id


async def subscribed(shop: Shop) -> Subscription:
    deps, _, tenant_id, key_id = shop
    async with deps.uow() as uow:
        key = await uow.billing_keys.get(tenant_id, key_id)
    assert key is not None
    plan = CreateSubscription(
        tenant_id, key.customer_key, key_id, "pro", "Pro plan", 9900, Interval.MONTH
    )
    return await create_subscription(plan, deps)


async def renewal_unknown(shop: Shop, sub: Subscription) -> ChargeLine:
    deps = shop[0]
    assert sub.next_charge_at is not None
    line = await charge_subscription(sub.id, deps, sub.next_charge_at + timedelta(minutes=1))
    assert line.outcome == "unknown" and line.payment_id is not None
    return line


def toss_forgot_the_key_and_the_card_went(toss: FakeGateway, sub: Subscription) -> None:
    toss.replace_key()  # the charge's Idempotency-Key is new to Toss under the key it now gets
    toss.delete_billing_keys_of(sub.customer_key)  # its BILLING_DELETED webhook lost


async def read(shop: Shop, payment_id: str, sub_id: str) -> tuple[Payment, Subscription]:
    deps, _, tenant_id, _ = shop
    async with deps.uow() as uow:
        payment = await uow.payments.get(tenant_id, payment_id)
        sub = await uow.subscriptions.get(tenant_id, sub_id)
    assert payment is not None and sub is not None
    return payment, sub


async def trail(shop: Shop, payment_id: str) -> list[tuple[str, str]]:
    deps, _, tenant_id, _ = shop
    async with deps.uow() as uow:
        rows = await uow.audit.list_for_payment(tenant_id, payment_id)
    return [(row.type, row.status) for row in rows if row.type.startswith("pg.")]


async def test_a_renewal_toss_charged_then_refused_when_sent_again_is_paid(at_once: Shop) -> None:
    deps, toss, _, _ = at_once
    sub = await subscribed(at_once)
    toss.apply_then_fail(BILLING_CHARGE)  # charged at Toss; the answer lost
    line = await renewal_unknown(at_once, sub)
    toss_forgot_the_key_and_the_card_went(toss, sub)
    assert line.payment_id is not None

    outcome = await reconcile_payment(line.payment_id, deps)

    assert outcome is ReconcileOutcome.SETTLED
    paid, renewed = await read(at_once, line.payment_id, sub.id)
    assert (paid.status, paid.needs_review) == (PaymentStatus.DONE, False)
    assert (renewed.status, renewed.failed_attempts) == (S.ACTIVE, 0)
    assert renewed.current_period_start == sub.current_period_end  # the period it paid for
    assert len(toss.applied_of(BILLING_CHARGE)) == 2  # the first period and this one, once each
    assert await trail(at_once, line.payment_id) == [
        ("pg.billing.charge", "unknown"),  # the renewal, its answer lost
        ("pg.billing.charge", "not_found"),  # the charge sent again, refused
        ("pg.lookup", "ok"),  # Toss's record of the order: DONE
    ]


async def test_one_charged_after_the_merchant_deleted_the_key_is_paid_and_flagged(
    at_once: Shop,
) -> None:
    """The auditor's case (grpcbill F1b): the merchant deletes the billing key while the
    renewal's answer is unknown. Toss had charged it: a person must refund it or keep it."""
    deps, toss, tenant_id, key_id = at_once
    sub = await subscribed(at_once)
    toss.apply_then_fail(BILLING_CHARGE)
    line = await renewal_unknown(at_once, sub)
    toss.replace_key()
    await delete_billing_key(tenant_id, key_id, deps)
    assert line.payment_id is not None

    await reconcile_payment(line.payment_id, deps)

    paid, ended = await read(at_once, line.payment_id, sub.id)
    assert (paid.status, paid.needs_review) == (PaymentStatus.DONE, True)
    assert (ended.status, ended.cancel_reason) == (S.CANCELED, "BILLING_KEY_DELETED")


async def test_one_whose_order_toss_cannot_be_asked_about_stays_unknown(at_once: Shop) -> None:
    deps, toss, _, _ = at_once
    sub = await subscribed(at_once)
    toss.apply_then_fail(BILLING_CHARGE)
    line = await renewal_unknown(at_once, sub)
    toss_forgot_the_key_and_the_card_went(toss, sub)
    toss.fail_next(LOOKUP, GatewayUnknown("READ_TIMEOUT", "no answer", timed_out=True))
    assert line.payment_id is not None

    outcome = await reconcile_payment(line.payment_id, deps)

    assert outcome is ReconcileOutcome.RETRY_LATER
    waiting, charging = await read(at_once, line.payment_id, sub.id)
    assert (waiting.status, waiting.needs_review) == (PaymentStatus.IN_PROGRESS, False)
    assert (charging.status, charging.charging_payment_id) == (S.ACTIVE, line.payment_id)
    assert await reconcile_payment(line.payment_id, deps) is ReconcileOutcome.SETTLED
    paid, _ = await read(at_once, line.payment_id, sub.id)
    assert paid.status is PaymentStatus.DONE


async def test_one_toss_never_charged_stays_refused(at_once: Shop) -> None:
    deps, toss, _, _ = at_once
    sub = await subscribed(at_once)
    unsent = GatewayUnknown("READ_TIMEOUT", "no answer", timed_out=True)
    toss.fail_next(BILLING_CHARGE, unsent)  # never reached Toss
    line = await renewal_unknown(at_once, sub)
    toss.delete_billing_keys_of(sub.customer_key)
    assert line.payment_id is not None

    outcome = await reconcile_payment(line.payment_id, deps)

    assert outcome is ReconcileOutcome.SETTLED
    refused, _ = await read(at_once, line.payment_id, sub.id)
    assert refused.status is PaymentStatus.ABORTED
    assert refused.failure is not None and refused.failure.code == "NOT_FOUND_BILLING"
    assert (await trail(at_once, line.payment_id))[-2:] == [
        ("pg.billing.charge", "not_found"),
        ("pg.lookup", "not_found"),  # no order at Toss: the refusal stands
    ]


async def test_a_one_off_charge_sent_again_under_its_key_and_refused_is_paid(
    at_once: Shop,
) -> None:
    deps, toss, tenant_id, key_id = at_once
    request = ChargeBillingKey(tenant_id, key_id, "Extra seats", 4000, request_key=REQUEST)
    toss.apply_then_fail(BILLING_CHARGE)  # charged at Toss; the answer lost
    with pytest.raises(PgError):
        await charge_billing_key(request, deps)
    toss.replace_key()
    async with deps.uow() as uow:
        key = await uow.billing_keys.get(tenant_id, key_id)
    assert key is not None
    toss.delete_billing_keys_of(key.customer_key)

    again = await charge_billing_key(request, deps)  # the client's retry, its process died

    assert again.status is PaymentStatus.DONE
    assert len(toss.applied_of(BILLING_CHARGE)) == 1
