"""Expire READY payments nobody paid: after the time to live, a payment waiting for its customer
becomes EXPIRED, with its audit row and its `payment.expired` event.

Toss is asked first (look-up by orderId on the payment's PG account): a payment may have been
paid at Toss without a word to us (confirmed there directly, or after a database restore).
- Toss approved it: its approval is adopted (DONE or WAITING_FOR_DEPOSIT, with its event); the
  merchant must not be told `payment.expired` for a charged order.
- Toss does not know the order, or ended it unpaid (EXPIRED, ABORTED): it expires. Toss not
  knowing it does not prove nobody will pay it: the reconciler looks once more later.
- Toss still holds the order open (IN_PROGRESS: the customer authenticated, and the order can
  be confirmed at Toss for 10 more minutes; or READY): not expired now, nor guessed at. The
  expiry asks again once Toss's own window has closed (EXPIRY_RECHECK_AFTER), and then goes by
  what Toss says. A payment expired on Toss's word that Toss approves all the same is adopted
  by whoever hears of it (adopt.py), flagged for a person.
- Toss could not be asked (down, a timeout): it stays READY for the next pass. Never expired on
  an answer we did not get.
- The account cannot be used (unknown, shared, set aside) or Toss's record is of another
  payment: flagged for a person, and left READY; the expiry passes over it from then on.

Safe with any number of workers at once, and with a confirm arriving at the same moment: no
transaction is open during the look-up; each payment is then re-read under its row lock and
changed only if it is still READY and old enough, and the unit of work refuses a write over a
version someone else committed. Whoever claims the payment first wins; the other changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sunap.domain.payment import APPROVED, Payment, PaymentStatus

from . import audit
from .adopt import next_check_at
from .audit_kinds import AuditStatus, AuditType
from .deps import Deps
from .errors import QuarantinedPayment, StaleAggregate, UnknownPgAccount
from .outcomes import adopt_or_flag
from .ports.gateway import (
    GatewayError,
    GatewayExchange,
    GatewayNotFound,
    GatewayPayment,
    PgOperation,
)
from .toss_windows import LOOK_AGAIN_AFTER

log = logging.getLogger("sunap.expiry")

BATCH_SIZE = 100
S = PaymentStatus
# A payment Toss still holds open is asked about again once Toss's own confirm window (10
# minutes after the customer authenticated) has surely closed: toss_windows.py, Deps.toss_recheck.
EXPIRY_RECHECK_AFTER = LOOK_AGAIN_AFTER
# What Toss says of an order that can never be paid any more (or an order it does not know).
NEVER_PAID = frozenset({S.EXPIRED, S.ABORTED})


@dataclass
class ExpiryCursor:
    """Where a worker's next batch starts: past the payments its last full batch left READY
    (Toss could not be asked about them), so that they do not fill every batch and keep
    younger payments from ever being looked at. None: from the oldest."""

    after: tuple[datetime, str] | None = None


@dataclass(frozen=True)
class _TossAnswer:
    truth: GatewayPayment | None  # None: Toss does not know the order
    exchange: GatewayExchange | None


class _Unusable(Exception):
    """The payment's PG account cannot be asked: a person must look."""


async def expire_unpaid(
    deps: Deps,
    ttl: timedelta,
    limit: int = BATCH_SIZE,
    cursor: ExpiryCursor | None = None,
) -> int:
    """One batch: how many payments this call settled, expired or found paid at Toss (0 when
    none was due, or none could be settled; one Toss still holds open is not settled)."""
    now = deps.clock.now()
    async with deps.uow() as uow:
        due = await uow.payments.ready_created_before(
            now - ttl, limit, now=now, after=cursor.after if cursor else None
        )
    settled = 0
    for _, payment_id in due:
        payment = await _still_due(payment_id, ttl, deps)
        if payment is not None and await _settle(payment, ttl, deps):
            settled += 1
    if cursor is not None:
        cursor.after = due[-1] if len(due) == limit else None
    return settled


async def _still_due(payment_id: str, ttl: timedelta, deps: Deps) -> Payment | None:
    async with deps.read_uow() as uow:
        payment = await uow.payments.get_any_tenant(payment_id)
    if payment is None or not _due(payment, ttl, deps):
        return None  # claimed by a confirm, canceled, or settled by another worker
    return payment


def _due(payment: Payment, ttl: timedelta, deps: Deps) -> bool:
    now = deps.clock.now()
    return (
        payment.status is S.READY
        and not payment.needs_review
        and payment.created_at <= now - ttl
        and (payment.expiry_recheck_at is None or payment.expiry_recheck_at <= now)
    )


async def _settle(payment: Payment, ttl: timedelta, deps: Deps) -> bool:
    try:
        answer = await _ask_toss(payment, deps)
    except _Unusable as unusable:
        return await _flag(payment.id, str(unusable), deps)
    if answer is None:
        return False  # READY until the next pass asks again
    return await _apply(payment.id, ttl, answer, deps)


async def _ask_toss(payment: Payment, deps: Deps) -> _TossAnswer | None:
    """Toss's record of the payment's order, asked with no transaction open; None when Toss
    could not be asked."""
    try:
        gateway = await deps.accounts.gateway(payment.pg_account_id)
    except (UnknownPgAccount, QuarantinedPayment) as unusable:
        raise _Unusable(
            f"Not expired: Toss could not be asked whether it was paid ({unusable})."
        ) from unusable
    if not gateway.accepts_new_operations():
        return None  # an open circuit breaker: Toss is known to be down
    try:
        truth = await gateway.lookup_by_order_id(payment.order_id)
    except GatewayNotFound as not_found:
        return _TossAnswer(None, not_found.exchange)
    except GatewayError as error:
        log.warning(
            "payment %s not expired: Toss could not be asked (%s %s); again next pass",
            payment.id,
            type(error).__name__,
            error.code,
        )
        return None
    return _TossAnswer(truth, truth.exchange)


async def _apply(payment_id: str, ttl: timedelta, answer: _TossAnswer, deps: Deps) -> bool:
    now = deps.clock.now()
    recheck_after = deps.toss_recheck
    truth = answer.truth
    async with deps.uow() as uow:
        payment = await uow.payments.get_any_tenant(payment_id, for_update=True)
        if payment is None or not _due(payment, ttl, deps):
            return False  # someone else got there while Toss was asked: theirs stands
        audit.record_exchange(uow, deps, payment, answer.exchange, PgOperation.LOOKUP)
        paid = truth is not None and truth.status in APPROVED
        still_open = truth is not None and not paid and truth.status not in NEVER_PAID
        if still_open:
            assert truth is not None
            payment.postpone_expiry(now + recheck_after)
            audit.record(
                uow,
                deps,
                payment,
                AuditType.PAYMENT_EXPIRY_POSTPONED,
                AuditStatus.OK,
                response={
                    "pgStatus": truth.status.value,
                    "recheckAt": (now + recheck_after).isoformat(),
                },
            )
        elif paid:
            assert truth is not None
            adopt_or_flag(uow, payment, truth, deps)
            if not payment.has_unknown_outcome:
                payment.schedule_reconcile(next_check_at(payment))
        else:
            payment.expire(now)
            if truth is None:  # the customer may open Toss's window yet: one more look then
                payment.schedule_reconcile(now + recheck_after, attempts=0)
            audit.record(
                uow,
                deps,
                payment,
                AuditType.PAYMENT_EXPIRED,
                AuditStatus.OK,
                response={"reason": "not paid in time", "ttlSeconds": int(ttl.total_seconds())},
            )
        try:
            await uow.commit()
        except StaleAggregate:
            return False  # someone else changed it first: theirs stands
    if still_open:
        assert truth is not None
        log.info(
            "payment %s not expired: Toss holds it %s and may still approve it; asked again in %s",
            payment_id,
            truth.status,
            recheck_after,
        )
        return False
    if payment.status is S.EXPIRED:
        log.info("payment %s expired: not paid within %s", payment_id, ttl)
    elif paid and not payment.needs_review:
        log.warning("payment %s was paid at Toss without us: %s", payment_id, payment.status)
    return True


async def _flag(payment_id: str, reason: str, deps: Deps) -> bool:
    log.error("payment %s: %s", payment_id, reason)
    async with deps.uow() as uow:
        payment = await uow.payments.get_any_tenant(payment_id, for_update=True)
        if payment is None or payment.status is not S.READY or payment.needs_review:
            return False
        payment.flag_for_review(reason, deps.clock.now())
        try:
            await uow.commit()
        except StaleAggregate:
            return False
    return True
