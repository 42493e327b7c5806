"""Ask Toss again about paid payments it may have changed without our hearing of it.

Toss tells us of a refund made in its console, a deposit, or a deposit the bank took back, by
webhook, and retries one for about three days. Past that (Sunap down that long, or its webhook
URL not registered with Toss) the change is lost, and nothing else asks about a payment nobody
is waiting on: the reconciler asks only about outcomes we know to be unknown. `sunap recheck`
reads each payment that Toss may still change from a date on, at a pace Toss's rate limit
allows, and adopts what Toss shows as a webhook's look-up would: the same trail rows, events
and review flags.
"""

from __future__ import annotations

import enum
import logging
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime

from sunap.domain.payment import Payment

from . import audit
from .deps import Deps
from .errors import QuarantinedPayment, StaleAggregate, UnknownPgAccount
from .outcomes import adopt_or_flag, reload
from .ports.gateway import GatewayError, GatewayPayment, PgOperation

log = logging.getLogger("sunap.recheck")

PAGE = 200
ATTEMPTS = 3


class RecheckOutcome(enum.StrEnum):
    UNCHANGED = "unchanged"  # Toss shows what we hold
    CHANGED = "changed"  # Toss showed what we had not heard of: adopted
    FLAGGED = "flagged"  # Toss's record disagrees in a way no rule settles: a person decides
    BUSY = "busy"  # a call of ours about it waits for Toss's answer: the reconciler's to settle
    UNREACHABLE = "unreachable"  # Toss did not answer, or its account cannot be used: try again


@dataclass(frozen=True)
class Rechecked:
    payment_id: str
    outcome: RecheckOutcome
    status: str  # the payment's status afterwards
    note: str = ""


async def payments_to_recheck(deps: Deps, since: datetime, limit: int) -> list[str]:
    """Ids of the payments created since `since` that Toss may still change, oldest first."""
    found: list[tuple[datetime, str]] = []
    while len(found) < limit:
        async with deps.read_uow() as uow:
            page = await uow.payments.changeable_at_toss_since(
                since, min(PAGE, limit - len(found)), after=found[-1] if found else None
            )
        found += page
        if len(page) < PAGE:
            break
    return [payment_id for _, payment_id in found]


async def recheck_payment(payment_id: str, deps: Deps) -> Rechecked:
    """Ask Toss about the payment and adopt its answer. A payment changed while Toss was asked
    is asked about again, with the change in (at most ATTEMPTS times)."""
    for _ in range(ATTEMPTS - 1):
        with suppress(StaleAggregate):
            return await _recheck_once(payment_id, deps)
    return await _recheck_once(payment_id, deps)


async def _recheck_once(payment_id: str, deps: Deps) -> Rechecked:
    async with deps.read_uow() as uow:
        payment = await uow.payments.get_any_tenant(payment_id)
    assert payment is not None and payment.payment_key is not None  # approved: payments stay
    if payment.has_unknown_outcome:
        return Rechecked(payment.id, RecheckOutcome.BUSY, payment.status.value)
    try:
        gateway = await deps.accounts.gateway(payment.pg_account_id)
        truth = await gateway.lookup_by_payment_key(payment.payment_key)
    except (UnknownPgAccount, QuarantinedPayment) as unusable:
        return Rechecked(
            payment.id, RecheckOutcome.UNREACHABLE, payment.status.value, str(unusable)
        )
    except GatewayError as error:
        note = f"{type(error).__name__} {error.code}"
        return Rechecked(payment.id, RecheckOutcome.UNREACHABLE, payment.status.value, note)
    return await _adopt(payment, truth, deps)


async def _adopt(payment: Payment, truth: GatewayPayment, deps: Deps) -> Rechecked:
    async with deps.uow() as uow:
        fresh = await reload(uow, payment.tenant_id, payment.id)
        if fresh.has_unknown_outcome:  # a cancel began meanwhile: the truth read may predate it
            return Rechecked(fresh.id, RecheckOutcome.BUSY, fresh.status.value)
        flagged_before = fresh.needs_review
        audit.record_exchange(uow, deps, fresh, truth.exchange, PgOperation.LOOKUP)
        changed = adopt_or_flag(uow, fresh, truth, deps)
        await uow.commit()
    if fresh.needs_review and not flagged_before:
        log.error("payment %s needs a person: %s", fresh.id, fresh.review_reason)
        return Rechecked(
            fresh.id, RecheckOutcome.FLAGGED, fresh.status.value, fresh.review_reason or ""
        )
    if changed:
        log.warning("payment %s: Toss had changed it unheard of: now %s", fresh.id, fresh.status)
        return Rechecked(fresh.id, RecheckOutcome.CHANGED, fresh.status.value)
    return Rechecked(fresh.id, RecheckOutcome.UNCHANGED, fresh.status.value)
