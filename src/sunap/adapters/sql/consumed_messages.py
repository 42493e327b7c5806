"""SqlConsumedMessages: which broker messages a subscriber has already acted on (the idempotent
consumer of docs/reliability.md, Consumers), so that a redelivery is recognised and skipped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from .engine import reader
from .tables import consumed_messages


@dataclass(frozen=True)
class ConsumedMessage:
    subscriber: str
    message_key: str
    outcome: str  # "created", "duplicate", "rejected"…
    detail: str | None
    received_at: datetime


class SqlConsumedMessages:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._reader = reader(engine)

    async def first_time(
        self, subscriber: str, message_key: str, outcome: str, detail: str | None, now: datetime
    ) -> bool:
        """Record the message; False if this subscriber recorded it before."""
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    insert(consumed_messages).values(
                        subscriber=subscriber,
                        message_key=message_key,
                        outcome=outcome,
                        detail=detail,
                        received_at=now,
                    )
                )
        except IntegrityError:
            return False
        return True

    async def recent(self, limit: int) -> list[ConsumedMessage]:
        stmt = (
            select(consumed_messages)
            .order_by(consumed_messages.c.received_at.desc(), consumed_messages.c.message_key)
            .limit(limit)
        )
        async with self._reader.connect() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [
            ConsumedMessage(
                subscriber=r["subscriber"],
                message_key=r["message_key"],
                outcome=r["outcome"],
                detail=r["detail"],
                received_at=r["received_at"],
            )
            for r in rows
        ]
