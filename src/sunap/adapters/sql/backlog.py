"""What is waiting, read from the database when /metrics is scraped: the outbox's unpublished
events and the payments waiting for a person. Read at scrape time, so the figures are true
whatever the relay is doing (a broker outage included) and in every process that serves them.

Also the payments in doubt (`doubt`), which the reconciler's worker reads every few seconds:
those it still has to settle carry `next_reconcile_at` (indexed), a few rows among all."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.domain.payment import CancelStatus, PaymentStatus

from .engine import reader
from .tables import outbox, payment_cancels, payments


@dataclass(frozen=True)
class Backlog:
    unpublished: int
    oldest_unpublished_age_seconds: float
    needing_review: int


@dataclass(frozen=True)
class Doubt:
    """Payments whose PG outcome we do not know yet and the reconciler is still asking about
    (those it gave up on wait for a person: `Backlog.needing_review`)."""

    outcome_unknown: int  # IN_PROGRESS: a confirm or charge not answered (or being sent)
    cancels_pending: int  # with a cancel not answered (or being sent)
    oldest_age_seconds: float  # since the oldest of those calls was sent; 0 when none wait


class SqlBacklog:
    def __init__(self, engine: AsyncEngine) -> None:
        self._reader = reader(engine)

    async def measure(self, now: datetime) -> Backlog:
        waiting = select(func.count(), func.min(outbox.c.created_at)).where(
            outbox.c.published_at.is_(None)
        )
        review = select(func.count()).where(payments.c.needs_review.is_(True))
        async with self._reader.connect() as conn:
            count, oldest = (await conn.execute(waiting)).one()
            needing_review = (await conn.execute(review)).scalar_one()
        age = max(0.0, (now - oldest).total_seconds()) if count and oldest is not None else 0.0
        return Backlog(int(count or 0), age, int(needing_review))

    async def doubt(self, now: datetime) -> Doubt:
        followed = payments.c.next_reconcile_at.is_not(None)
        unknown = select(func.count(), func.min(payments.c.requested_at)).where(
            followed, payments.c.status == PaymentStatus.IN_PROGRESS.value
        )
        cancels = (
            select(
                func.count(func.distinct(payments.c.id)), func.min(payment_cancels.c.requested_at)
            )
            .select_from(payments)
            .join(
                payment_cancels,
                and_(
                    payment_cancels.c.payment_id == payments.c.id,
                    payment_cancels.c.status == CancelStatus.PENDING.value,
                ),
            )
            .where(followed, payments.c.pending_cancel_amount > 0)
        )
        async with self._reader.connect() as conn:
            unknown_count, unknown_since = (await conn.execute(unknown)).one()
            cancel_count, cancel_since = (await conn.execute(cancels)).one()
        since = [t for t in (unknown_since, cancel_since) if t is not None]
        age = max(0.0, (now - min(since)).total_seconds()) if since else 0.0
        return Doubt(int(unknown_count or 0), int(cancel_count or 0), age)
