"""A subscription's charges through the use cases on every database, Toss played by the fake:
what the orderIds of a period's attempts become across refusals, pauses and resumes, and how a
refusal ends a subscription canceled at its period end, and how a charge the open circuit breaker
kept from Toss is sent again without using up the reconciler's schedule."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from sunap.application.billing_charges import ChargeVerdict, send_charge
from sunap.application.billing_commands import CancelSubscription, CreateSubscription
from sunap.application.billing_keys import delete_billing_key
from sunap.application.billing_scheduler import ChargeLine, charge_subscription, run_due
from sunap.application.deps import Deps
from sunap.application.ports.gateway import GatewayDeclined, GatewayUnknown
from sunap.application.subscriptions import (
    cancel_subscription,
    create_subscription,
    pause_subscription,
    resume_subscription,
    subscription_payments,
)
from sunap.domain.periods import Interval
from sunap.domain.subscription import Subscription, SubscriptionStatus
from tests.fakes.gateway import BILLING_CHARGE, FakeGateway

S = SubscriptionStatus
Shop = tuple[Deps, FakeGateway, str, str]


def refuse_next_charges(toss: FakeGateway, times: int = 1) -> None:
    toss.fail_next(
        BILLING_CHARGE, GatewayDeclined("REJECT_CARD_COMPANY", "카드사 거절"), times=times
    )


async def subscribed(shop: Shop) -> Subscription:
    deps, _, tenant_id, key_id = shop
    async with deps.uow() as uow:
        key = await uow.billing_keys.get(tenant_id, key_id)
    assert key is not None
    return await create_subscription(
        CreateSubscription(
            tenant_id,
            key.customer_key,
            key_id,
            plan="pro",
            order_name="Pro plan",
            amount=9900,
            interval=Interval.MONTH,
        ),
        deps,
    )


def after(moment: datetime | None) -> datetime:
    assert moment is not None
    return moment + timedelta(minutes=1)


async def order_ids(shop: Shop, sub_id: str) -> list[tuple[str, str]]:
    deps, _, tenant_id, _ = shop
    payments, _ = await subscription_payments(tenant_id, sub_id, 100, None, deps)
    return sorted((p.order_id.removeprefix(sub_id), p.status.value) for p in payments)


async def test_a_past_due_subscription_paused_and_resumed_is_charged_under_a_new_order_id(
    shop: Shop,
) -> None:
    """The resume's charge took the refused attempt's orderId (p1-a1) again: 409
    DUPLICATE_ORDER_ID on every resume, for good."""
    deps, toss, tenant_id, _ = shop
    sub = await subscribed(shop)
    refuse_next_charges(toss)
    line = await charge_subscription(sub.id, deps, after(sub.next_charge_at))
    assert (line.outcome, line.status) == ("refused", "PAST_DUE")
    await pause_subscription(tenant_id, sub.id, deps)

    resumed = await resume_subscription(tenant_id, sub.id, deps)

    assert (resumed.status, resumed.failed_attempts) == (S.ACTIVE, 0)
    assert await order_ids(shop, sub.id) == [
        ("-p0-a1", "DONE"),
        ("-p1-a1", "ABORTED"),
        ("-p1-a2", "DONE"),
    ]


async def test_a_refused_resume_then_another_pause_and_resume_charges_the_next_attempt(
    shop: Shop,
) -> None:
    deps, toss, tenant_id, _ = shop
    sub = await subscribed(shop)
    await pause_subscription(tenant_id, sub.id, deps)
    refuse_next_charges(toss)
    refused = await resume_subscription(tenant_id, sub.id, deps)
    assert (refused.status, refused.failed_attempts) == (S.PAST_DUE, 1)
    await pause_subscription(tenant_id, sub.id, deps)

    resumed = await resume_subscription(tenant_id, sub.id, deps)

    assert resumed.status is S.ACTIVE
    assert await order_ids(shop, sub.id) == [
        ("-p0-a1", "DONE"),
        ("-p1-a1", "ABORTED"),
        ("-p1-a2", "DONE"),
    ]


async def test_a_renewal_refused_after_a_period_end_cancel_was_taken_ends_it_uncharged(
    shop: Shop,
) -> None:
    """The cancel at period end, taken while the renewal waited for Toss, was kept through the
    refusal into dunning, and a retry charged a month the merchant had canceled."""
    deps, toss, tenant_id, _ = shop
    sub = await subscribed(shop)
    renewal_at = after(sub.next_charge_at)
    gate = toss.hold(BILLING_CHARGE)
    refuse_next_charges(toss)
    renewal = asyncio.create_task(charge_subscription(sub.id, deps, renewal_at))
    await gate.arrived.wait()
    taken = await cancel_subscription(CancelSubscription(tenant_id, sub.id, "leaving"), deps)
    assert taken.cancel_at_period_end and taken.status is S.ACTIVE
    gate.release()

    line = await renewal

    assert (line.outcome, line.status) == ("refused", "CANCELED")
    ended = await deps_subscription(shop, sub.id)
    assert (ended.cancel_reason, ended.canceled_at, ended.next_charge_at) == (
        "leaving",
        sub.current_period_end,
        None,
    )
    retry = await charge_subscription(sub.id, deps, renewal_at + timedelta(days=6))
    assert retry.outcome == "skipped"
    assert await order_ids(shop, sub.id) == [("-p0-a1", "DONE"), ("-p1-a1", "ABORTED")]


@pytest.mark.parametrize("toss_answers", ["approved", "refused"])
async def test_a_period_end_cancel_taken_under_a_renewal_leaves_the_ending_to_that_charge(
    shop: Shop, toss_answers: str
) -> None:
    """Scheduler B's renewal waits at Toss; the merchant cancels at period end; scheduler A
    reaches the subscription from the due list it read before B's claim. A ended it (CANCELED,
    subscription.canceled) with B's charge in flight, and B's charge then came back DONE: the
    customer was charged for a subscription the merchant was told was CANCELED."""
    deps, toss, tenant_id, _ = shop
    sub = await subscribed(shop)
    renewal_at = after(sub.next_charge_at)
    gate = toss.hold(BILLING_CHARGE)
    if toss_answers == "refused":
        refuse_next_charges(toss)
    scheduler_b = asyncio.create_task(charge_subscription(sub.id, deps, renewal_at))
    await gate.arrived.wait()
    await cancel_subscription(CancelSubscription(tenant_id, sub.id, "leaving"), deps)

    scheduler_a = await charge_subscription(sub.id, deps, renewal_at)

    assert scheduler_a.outcome == "skipped"
    waiting = await deps_subscription(shop, sub.id)
    assert (waiting.status, waiting.cancel_at_period_end) == (S.ACTIVE, True)
    gate.release()
    line = await scheduler_b
    assert line.outcome == toss_answers
    assert line.payment_id is not None
    async with deps.uow() as uow:
        charge = await uow.payments.get(tenant_id, line.payment_id)
    assert charge is not None and not charge.needs_review
    settled = await deps_subscription(shop, sub.id)
    if toss_answers == "refused":  # the period-end cancel applies at the period's end
        assert (settled.status, settled.canceled_at) == (S.CANCELED, sub.current_period_end)
        return
    # Paid: the charge pays the period that ends next, and the cancel takes effect at its end.
    assert (settled.status, settled.cancel_at_period_end) == (S.ACTIVE, True)
    assert settled.current_period_start == sub.current_period_end
    end = await charge_subscription(sub.id, deps, after(settled.current_period_end))
    assert (end.outcome, end.status) == ("ended", "CANCELED")
    ended = await deps_subscription(shop, sub.id)
    assert (ended.canceled_at, ended.cancel_reason) == (settled.current_period_end, "leaving")
    assert await order_ids(shop, sub.id) == [("-p0-a1", "DONE"), ("-p1-a1", "DONE")]


async def test_a_scheduler_pass_tells_each_charge_as_it_ends_not_at_the_end_of_the_pass(
    shop: Shop,
) -> None:
    """The scheduler worker counted a pass's charges once the whole pass was over: a long due
    list kept the metrics still for as long, and a pass cut short by a stop counted nothing."""
    deps, toss, _, _ = shop
    subs = [await subscribed(shop) for _ in range(3)]
    renewal_at = after(max(sub.next_charge_at for sub in subs if sub.next_charge_at))
    told: list[tuple[ChargeLine, int]] = []  # each line, and the charges sent when it was told

    def tell(line: ChargeLine) -> None:
        told.append((line, len(toss.calls_of(BILLING_CHARGE))))

    lines = await run_due(deps, renewal_at, limit=2, on_line=tell)

    assert [line for line, _ in told] == lines
    mine = [(line, sent) for line, sent in told if line.subscription_id in {s.id for s in subs}]
    assert [line.outcome for line, _ in mine] == ["approved"] * 3
    first_told_at = mine[0][1]
    assert first_told_at < len(toss.calls_of(BILLING_CHARGE))  # before the pass's last charge


async def deps_subscription(shop: Shop, sub_id: str) -> Subscription:
    deps, _, tenant_id, _ = shop
    async with deps.uow() as uow:
        found = await uow.subscriptions.get(tenant_id, sub_id)
    assert found is not None
    return found


async def test_the_schedulers_and_a_key_deletions_changes_leave_audit_rows_under_it(
    shop: Shop,
) -> None:
    """A renewal, a refusal into PAST_DUE and the cancel of a deleted key changed the
    subscription without a row in its audit trail; the merchant's own changes had one."""
    deps, toss, tenant_id, key_id = shop
    sub = await subscribed(shop)
    refuse_next_charges(toss)
    await charge_subscription(sub.id, deps, after(sub.next_charge_at))
    past_due = await deps_subscription(shop, sub.id)
    await charge_subscription(sub.id, deps, after(past_due.next_charge_at))
    await delete_billing_key(tenant_id, key_id, deps)

    async with deps.uow() as uow:
        trail = await uow.audit.list_for_payment(tenant_id, sub.id)
    rows = [(row.type, row.status, (row.response_data or {}).get("status")) for row in trail]
    assert rows == [
        ("subscription.created", "ok", None),
        ("subscription.renewed", "ok", "ACTIVE"),
        ("subscription.payment_failed", "declined", "PAST_DUE"),
        ("subscription.renewed", "ok", "ACTIVE"),
        ("subscription.canceled", "ok", "CANCELED"),
    ]
    assert trail[2].response_data == {
        "status": "PAST_DUE",
        "paymentId": past_due.latest_payment_id,
        "failedAttempts": 1,
        "cancelReason": None,
    }
    assert trail[-1].response_data is not None
    assert trail[-1].response_data["cancelReason"] == "BILLING_KEY_DELETED"


async def test_a_renewal_the_open_circuit_breaker_kept_from_toss_uses_none_of_the_schedule(
    shop: Shop,
) -> None:
    deps, toss, _, _ = shop
    sub = await subscribed(shop)
    unsent = GatewayUnknown("CIRCUIT_OPEN", "calls are paused; nothing was sent", nothing_sent=True)
    tries = len(deps.reconcile_delays) + 1  # more than the whole schedule
    toss.fail_next(BILLING_CHARGE, unsent, times=tries)
    line = await charge_subscription(sub.id, deps, after(sub.next_charge_at))
    assert line.outcome == "unknown" and line.payment_id is not None
    for _ in range(tries - 1):  # what the reconciler does with the charge each time it is due
        result = await send_charge(line.payment_id, deps)
        assert result.verdict is ChargeVerdict.UNKNOWN
        assert (result.payment.reconcile_attempts, result.payment.needs_review) == (0, False)

    result = await send_charge(line.payment_id, deps)

    assert result.verdict is ChargeVerdict.APPROVED
    assert await order_ids(shop, sub.id) == [("-p0-a1", "DONE"), ("-p1-a1", "DONE")]
