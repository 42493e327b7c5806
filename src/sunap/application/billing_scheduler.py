"""The subscription scheduler: charge every subscription whose next charge has come, once.

Each due subscription is claimed in its own short transaction (locked, checked to be still due,
its charge's payment inserted with an orderId unique per PG account): two schedulers racing for
one period find it claimed, or trip on the orderId, and skip it. The PG is called with no
transaction open; its answer is recorded in a second transaction (billing_charges.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sunap.domain.errors import DuplicateOrderId

from .audit import record_subject, record_subscription_change
from .audit_kinds import AuditStatus, AuditType
from .billing_charges import ChargeVerdict, send_charge
from .deps import Deps
from .errors import SecretsKeyMissing, StaleAggregate
from .subscriptions import claim_charge

log = logging.getLogger("sunap.billing")

BATCH = 50  # the due list is read a page of this many rows at a time
# What can become of one due subscription (ChargeLine.outcome).
CHARGE_OUTCOMES = ("approved", "refused", "unknown", "ended", "canceled", "skipped", "blocked")
# The outcomes that leave the subscription as it was: no work done.
UNCHANGED = frozenset({"skipped", "blocked"})


@dataclass(frozen=True)
class ChargeLine:
    """One line of `sunap billing run-due`: what became of one due subscription."""

    subscription_id: str
    outcome: str  # one of CHARGE_OUTCOMES
    payment_id: str | None = None
    order_id: str | None = None
    amount: int | None = None
    status: str | None = None  # the subscription's status afterwards


async def run_due(
    deps: Deps,
    at: datetime | None = None,
    limit: int = BATCH,
    on_line: Callable[[ChargeLine], None] | None = None,
) -> list[ChargeLine]:
    """One pass over everything due at `at` (default now). Safe to run on many workers at once.

    The due list is read a page at a time, each page after the last row of the one before
    (next_charge_at, id), never from the top again: a subscription this process could not
    charge (`blocked`: a billing key it cannot open, an orderId another payment holds) stays due,
    for a process that can, and the pass goes on past it. Read from the top each pass, a page of
    them held back every other renewal for good. Not pushed back in the database either: another
    process, with another secrets key, may be able to charge it now. Each subscription is taken
    once a pass: one charged and still due at `at` (periods missed), met again further on, is
    left to the next pass, as when a pass was one page. `on_line` hears each charge as it ends:
    a pass over a long list takes a while, and what it did must show (and be counted) before
    it ends, or stops."""
    now = at or deps.clock.now()
    lines: list[ChargeLine] = []
    taken: set[str] = set()
    after = None
    while True:
        async with deps.uow() as uow:
            page = await uow.subscriptions.due(now, limit, after)
        for due in page:
            if due.id not in taken:
                taken.add(due.id)
                line = await charge_subscription(due.id, deps, now)
                lines.append(line)
                if on_line is not None:
                    on_line(line)
        if len(page) < limit:
            return lines
        after = page[-1]


async def _claimed_or_blocked(
    sub_id: str, order_id: str, pg_account_id: str, deps: Deps
) -> ChargeLine:
    """The charge's orderId is taken: by this very charge, claimed by another scheduler (skip
    it), or by a payment that is not this subscription's, which would stop its renewals for
    good without a word. Such orderIds are refused to callers now; one taken before is an
    incident for a person."""
    async with deps.uow() as uow:
        holder = await uow.payments.get_by_account_order(pg_account_id, order_id)
    if holder is None or holder.subscription_id == sub_id:
        return ChargeLine(sub_id, "skipped")
    reason = f"its orderId {order_id} is held by payment {holder.id}, not its own"
    return _blocked(sub_id, order_id, reason, payment_id=holder.id)


_REPORTED: set[str] = set()  # the blocked charges this process has logged


def _blocked(sub_id: str, order_id: str, reason: str, payment_id: str | None = None) -> ChargeLine:
    """A charge that stays due, unsent, until a person (or a process that can) acts: logged
    once a process, since every pass finds it again."""
    if order_id not in _REPORTED:
        _REPORTED.add(order_id)
        log.error("subscription %s cannot be charged: %s", sub_id, reason)
    return ChargeLine(sub_id, "blocked", payment_id=payment_id, order_id=order_id)


async def subscriptions_by_status(deps: Deps) -> dict[str, int]:
    async with deps.uow() as uow:
        counts = await uow.subscriptions.count_by_status()
    return {status.value: n for status, n in counts.items()}


async def charge_subscription(sub_id: str, deps: Deps, now: datetime) -> ChargeLine:
    try:
        async with deps.uow() as uow:
            sub = await uow.subscriptions.get_any_tenant(sub_id, for_update=True)
            if sub is None or sub.next_charge_at is None or sub.next_charge_at > now:
                return ChargeLine(sub_id, "skipped")
            # Decided on the row as locked now, not as the due list saw it: a charge claimed
            # since (by another scheduler) is settled by that charge alone (Subscription).
            if sub.has_run_out(now):
                sub.end_at_period_end(now)
                record_subject(
                    uow, deps, sub.tenant_id, sub.id, AuditType.SUBSCRIPTION_ENDED, AuditStatus.OK
                )
                await uow.commit()
                return ChargeLine(sub_id, "ended", status=sub.status.value)
            if not sub.is_due(now):
                return ChargeLine(sub_id, "skipped")
            key = await uow.billing_keys.get_any_tenant(sub.billing_key_id)
            if key is None or not key.is_active:
                sub.billing_key_deleted(now)
                record_subscription_change(uow, deps, sub, AuditType.SUBSCRIPTION_CANCELED)
                await uow.commit()
                return ChargeLine(sub_id, "canceled", status=sub.status.value)
            charge, pg_account_id = sub.next_charge(), key.pg_account_id
            payment = await claim_charge(uow, deps, sub, now)
            await uow.commit()
    except DuplicateOrderId:
        return await _claimed_or_blocked(sub_id, charge.order_id, pg_account_id, deps)
    except StaleAggregate:
        return ChargeLine(sub_id, "skipped")  # another scheduler claimed this charge
    except SecretsKeyMissing as locked:
        # This process cannot open the billing key (no or another secrets key): nothing claimed.
        return _blocked(sub_id, charge.order_id, str(locked))
    result = await send_charge(payment.id, deps, now)
    if result.verdict is not ChargeVerdict.APPROVED:
        log.info("charge %s of %s: %s", payment.order_id, sub_id, result.verdict.value)
    return ChargeLine(
        sub_id,
        result.verdict.value,
        payment_id=payment.id,
        order_id=payment.order_id,
        amount=payment.amount,
        status=result.subscription.status.value if result.subscription else None,
    )
