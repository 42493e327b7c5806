"""Expire READY payments nobody paid: after the time to live, a payment waiting for its customer
becomes EXPIRED, with its audit row and its `payment.expired` event.

Safe with any number of workers at once, and with a confirm arriving at the same moment: each
payment is re-read under its row lock and expired only if it is still READY and old enough, and
the unit of work refuses a write over a version someone else committed. Whoever claims the
payment first wins; the other changes nothing.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sunap.domain.payment import PaymentStatus

from . import audit
from .audit_kinds import AuditStatus, AuditType
from .deps import Deps
from .errors import StaleAggregate

log = logging.getLogger("sunap.expiry")

BATCH_SIZE = 100


async def expire_unpaid(deps: Deps, ttl: timedelta, limit: int = BATCH_SIZE) -> int:
    """One batch: how many payments this call expired (0 when none was due)."""
    cutoff = deps.clock.now() - ttl
    async with deps.uow() as uow:
        due = await uow.payments.ready_created_before(cutoff, limit)
    expired = 0
    for payment_id in due:
        if await _expire(payment_id, ttl, deps):
            expired += 1
    return expired


async def _expire(payment_id: str, ttl: timedelta, deps: Deps) -> bool:
    now = deps.clock.now()
    async with deps.uow() as uow:
        payment = await uow.payments.get_any_tenant(payment_id, for_update=True)
        if payment is None or payment.status is not PaymentStatus.READY:
            return False  # claimed by a confirm, canceled, or expired by another worker
        if payment.created_at > now - ttl:
            return False
        payment.expire(now)
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
    log.info("payment %s expired: not paid within %s", payment_id, ttl)
    return True
