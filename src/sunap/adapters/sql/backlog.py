"""What is waiting, read from the database when /metrics is scraped: the outbox's unpublished
events and the payments waiting for a person. Read at scrape time, so the figures are true
whatever the relay is doing (a broker outage included) and in every process that serves them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from .engine import reader
from .tables import outbox, payments


@dataclass(frozen=True)
class Backlog:
    unpublished: int
    oldest_unpublished_age_seconds: float
    needing_review: int


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
