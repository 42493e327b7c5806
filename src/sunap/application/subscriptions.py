"""Subscriptions: start one (its first period charged in the request, or after a trial), look
them up, change, cancel, pause and resume them. Charges go through billing_charges.py."""

from __future__ import annotations

from datetime import datetime

from sunap.domain.billing_key import BillingKey
from sunap.domain.errors import (
    BillingKeyNotActive,
    BillingKeyNotFound,
    InvalidRequest,
    SubscriptionNotFound,
)
from sunap.domain.payment import Payment
from sunap.domain.subscription import Subscription

from .audit import record_subject
from .audit_kinds import AuditStatus, AuditType
from .billing_charges import (
    ChargeResult,
    ChargeVerdict,
    claim_payment,
    send_charge,
    unknown_charge,
)
from .billing_commands import CancelSubscription, ChangeSubscription, CreateSubscription
from .deps import Deps
from .errors import BillingRefused, IdempotencyKeyReused
from .ports.billing import BillingQuery, SubscriptionPage
from .ports.payments import PaymentQuery
from .ports.unit_of_work import UnitOfWork
from .presenters import payment_resource, subscription_resource


async def create_subscription(cmd: CreateSubscription, deps: Deps) -> Subscription:
    now = deps.clock.now()
    sub_id = f"sub_{cmd.request_key}" if cmd.request_key else deps.ids.new_id("sub")
    async with deps.uow() as uow:
        earlier = await uow.subscriptions.get(cmd.tenant_id, sub_id) if cmd.request_key else None
        if earlier is not None:  # sent again once its key let go (a crash): never twice
            _require_same_subscription(earlier, cmd)
        else:
            sub, payment = await _start(uow, deps, cmd, sub_id, now)
            await uow.commit()
    if earlier is not None:
        if earlier.charging_payment_id is None:
            return await _as_it_stands(earlier, deps)
        # Its first charge's answer never came: sent again under its own Toss key.
        return await _answer_of_first_charge(
            await send_charge(earlier.charging_payment_id, deps, now, again=True)
        )
    if payment is None:
        return sub
    return await _answer_of_first_charge(await send_charge(payment.id, deps, now))


async def _start(
    uow: UnitOfWork, deps: Deps, cmd: CreateSubscription, sub_id: str, now: datetime
) -> tuple[Subscription, Payment | None]:
    """The new subscription and, without a trial, its first charge claimed, in `uow`."""
    key = await _usable_key(uow, cmd.tenant_id, cmd.billing_key_id, cmd.customer_key)
    sub = Subscription.start(
        id=sub_id,
        tenant_id=cmd.tenant_id,
        pg_account_id=key.pg_account_id,
        customer_key=cmd.customer_key,
        billing_key_id=key.id,
        plan=cmd.plan,
        order_name=cmd.order_name,
        amount=cmd.amount,
        currency="KRW",
        interval=cmd.interval,
        interval_count=cmd.interval_count,
        trial_days=cmd.trial_days,
        metadata=cmd.metadata,
        now=now,
        zone=deps.billing.zone,
    )
    uow.subscriptions.add(sub)
    record_subject(uow, deps, sub.tenant_id, sub.id, AuditType.SUBSCRIPTION_CREATED, AuditStatus.OK)
    payment = None if cmd.trial_days else await claim_charge(uow, deps, sub, now)
    return sub, payment


async def _usable_key(
    uow: UnitOfWork, tenant_id: str, key_id: str, customer_key: str
) -> BillingKey:
    """The billing key a subscription may be charged to: the tenant's, the customer's, active."""
    key = await uow.billing_keys.get(tenant_id, key_id)
    if key is None:
        raise BillingKeyNotFound()
    if key.customer_key != customer_key:
        raise InvalidRequest("The billing key is not this customerKey's.")
    if not key.is_active:
        raise BillingKeyNotActive("A deleted billing key cannot back a subscription.")
    return key


def _require_same_subscription(earlier: Subscription, cmd: CreateSubscription) -> None:
    def terms(s: Subscription | CreateSubscription) -> tuple[object, ...]:
        return (
            s.customer_key,
            s.billing_key_id,
            s.plan,
            s.order_name,
            s.amount,
            s.interval,
            s.interval_count,
        )

    if terms(earlier) != terms(cmd):
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used for another subscription; use a new key for a new "
            "request."
        )


async def _as_it_stands(sub: Subscription, deps: Deps) -> Subscription:
    """A subscription made before whose first charge is settled: as it is, or the refusal that
    ended it."""
    if sub.cancel_reason != "FIRST_CHARGE_FAILED" or sub.latest_payment_id is None:
        return sub
    async with deps.uow() as uow:
        payment = await uow.payments.get(sub.tenant_id, sub.latest_payment_id)
    failure = payment.failure if payment is not None else None
    refused = BillingRefused(
        failure.code if failure else "REJECTED",
        failure.message if failure else "The payment gateway refused the charge.",
    )
    refused.extra |= {"subscription": subscription_resource(sub)}
    if payment is not None:
        refused.extra["payment"] = payment_resource(payment)
    raise refused


async def _answer_of_first_charge(result: ChargeResult) -> Subscription:
    assert result.subscription is not None
    if result.verdict is ChargeVerdict.REFUSED:
        failure = result.payment.failure
        refused = BillingRefused(
            failure.code if failure else "REJECTED",
            failure.message if failure else "The payment gateway refused the charge.",
        )
        refused.extra |= _details(result)
        raise refused
    if result.verdict is ChargeVerdict.UNKNOWN:
        unknown = unknown_charge(result)
        unknown.extra = _details(result)
        raise unknown
    return result.subscription


async def claim_charge(uow: UnitOfWork, deps: Deps, sub: Subscription, now: datetime) -> Payment:
    """Claim the subscription's due charge (its payment and the in-flight mark) in `uow`."""
    key = await uow.billing_keys.get_any_tenant(sub.billing_key_id)
    assert key is not None
    ref = sub.next_charge()
    payment = claim_payment(
        uow,
        deps,
        key,
        order_id=ref.order_id,
        order_name=sub.order_name,
        amount=sub.amount,
        idempotency_key=ref.idempotency_key,
        now=now,
        subscription_id=sub.id,
    )
    sub.begin_charge(payment.id, now)
    return payment


def _details(result: ChargeResult) -> dict[str, object]:
    assert result.subscription is not None
    return {
        "subscription": subscription_resource(result.subscription),
        "payment": payment_resource(result.payment),
    }


async def get_subscription(tenant_id: str, sub_id: str, deps: Deps) -> Subscription:
    async with deps.uow() as uow:
        sub = await uow.subscriptions.get(tenant_id, sub_id)
    if sub is None:
        raise SubscriptionNotFound()
    return sub


async def list_subscriptions(tenant_id: str, query: BillingQuery, deps: Deps) -> SubscriptionPage:
    async with deps.uow() as uow:
        return await uow.subscriptions.list(tenant_id, query)


async def subscription_payments(
    tenant_id: str, sub_id: str, limit: int, cursor: str | None, deps: Deps
) -> tuple[list[Payment], str | None]:
    await get_subscription(tenant_id, sub_id, deps)
    query = PaymentQuery(subscription_id=sub_id, limit=limit, cursor=cursor)
    async with deps.uow() as uow:
        page = await uow.payments.list(tenant_id, query)
    return page.items, page.next_cursor


async def change_subscription(cmd: ChangeSubscription, deps: Deps) -> Subscription:
    now = deps.clock.now()
    async with deps.uow() as uow:
        sub = await _locked(uow, cmd.tenant_id, cmd.subscription_id)
        if cmd.billing_key_id is not None:
            await _usable_key(uow, cmd.tenant_id, cmd.billing_key_id, sub.customer_key)
        sub.change(
            now,
            plan=cmd.plan,
            amount=cmd.amount,
            order_name=cmd.order_name,
            billing_key_id=cmd.billing_key_id,
            metadata=cmd.metadata,
        )
        record_subject(
            uow, deps, sub.tenant_id, sub.id, AuditType.SUBSCRIPTION_UPDATED, AuditStatus.OK
        )
        await uow.commit()
    return sub


async def cancel_subscription(cmd: CancelSubscription, deps: Deps) -> Subscription:
    now = deps.clock.now()
    async with deps.uow() as uow:
        sub = await _locked(uow, cmd.tenant_id, cmd.subscription_id)
        sub.cancel(now, reason=cmd.reason, at_period_end=cmd.at_period_end)
        record_subject(
            uow, deps, sub.tenant_id, sub.id, AuditType.SUBSCRIPTION_CANCELED, AuditStatus.OK
        )
        await uow.commit()
    return sub


async def pause_subscription(tenant_id: str, sub_id: str, deps: Deps) -> Subscription:
    now = deps.clock.now()
    async with deps.uow() as uow:
        sub = await _locked(uow, tenant_id, sub_id)
        sub.pause(now)
        record_subject(
            uow, deps, sub.tenant_id, sub.id, AuditType.SUBSCRIPTION_PAUSED, AuditStatus.OK
        )
        await uow.commit()
    return sub


async def resume_subscription(tenant_id: str, sub_id: str, deps: Deps) -> Subscription:
    """A paused or unpaid one: a new period starts now and is charged at once; a refusal starts
    dunning as a renewal's would, an unknown outcome is settled by the reconciler. One canceled
    at period end: the cancel is undone and nothing is charged."""
    now = deps.clock.now()
    async with deps.uow() as uow:
        sub = await _locked(uow, tenant_id, sub_id)
        key = await uow.billing_keys.get_any_tenant(sub.billing_key_id)
        if key is None or not key.is_active:
            raise BillingKeyNotActive("The subscription's billing key was deleted.")
        due = sub.resume(now, deps.billing.zone)
        record_subject(
            uow, deps, sub.tenant_id, sub.id, AuditType.SUBSCRIPTION_RESUMED, AuditStatus.OK
        )
        payment = await claim_charge(uow, deps, sub, now) if due else None
        await uow.commit()
    if payment is None:
        return sub
    result = await send_charge(payment.id, deps, now)
    return result.subscription or sub


async def _locked(uow: UnitOfWork, tenant_id: str, sub_id: str) -> Subscription:
    sub = await uow.subscriptions.get(tenant_id, sub_id, for_update=True)
    if sub is None:
        raise SubscriptionNotFound()
    return sub
