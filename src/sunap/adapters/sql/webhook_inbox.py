"""SqlWebhookInbox: Toss webhooks stored on arrival (deduplicated), then processed under a lease."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, RowMapping, and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.application.ports.webhook_inbox import DeliveryStatus, Recorded, WebhookDelivery

from .columns import fitted_key, fitted_label
from .engine import one_statement, reader
from .tables import webhook_deliveries as deliveries


class SqlWebhookInbox:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._reader = reader(engine)
        self._one_statement = one_statement(engine)  # a delivery's INSERT
        self._row_locks = engine.dialect.name != "sqlite"

    async def record(self, delivery: WebhookDelivery) -> Recorded:
        # Both come from the delivery's body: sized to their columns, never refused by them.
        dedup_key = fitted_key(delivery.dedup_key, deliveries.c.dedup_key)
        try:
            async with self._one_statement.begin() as conn:
                await conn.execute(
                    insert(deliveries).values(
                        id=delivery.id,
                        dedup_key=dedup_key,
                        pg_account_id=delivery.pg_account_id,
                        event_type=fitted_label(delivery.event_type, deliveries.c.event_type),
                        headers=dict(delivery.headers),
                        body=delivery.body,
                        received_at=delivery.received_at,
                        status=delivery.status.value,
                        attempts=delivery.attempts,
                        next_attempt_at=delivery.next_attempt_at,
                        leased_until=None,
                        payment_id=delivery.payment_id,
                        last_error=delivery.last_error,
                        processed_at=delivery.processed_at,
                        duplicates=0,
                    )
                )
        except IntegrityError:
            repeated = await self._count_repeat(dedup_key)
            if repeated is None:
                raise
            return repeated
        return Recorded(delivery.id, 0)

    async def claim_due(
        self, now: datetime, lease_until: datetime, limit: int
    ) -> list[WebhookDelivery]:
        due_at = func.coalesce(deliveries.c.next_attempt_at, deliveries.c.received_at)
        claimable = and_(
            deliveries.c.status == DeliveryStatus.RECEIVED.value,
            due_at <= now,
            or_(deliveries.c.leased_until.is_(None), deliveries.c.leased_until <= now),
        )
        async with self._engine.begin() as conn:
            stmt = select(deliveries.c.id).where(claimable).order_by(due_at, deliveries.c.id)
            if self._row_locks:
                stmt = stmt.with_for_update(skip_locked=True)
            ids = list((await conn.execute(stmt.limit(limit))).scalars())
            won: list[str] = []
            for delivery_id in ids:
                # The conditional UPDATE is the arbiter: a row someone else leased meanwhile
                # no longer matches `claimable`.
                result = cast(
                    CursorResult[Any],
                    await conn.execute(
                        update(deliveries)
                        .where(deliveries.c.id == delivery_id, claimable)
                        .values(leased_until=lease_until, attempts=deliveries.c.attempts + 1)
                    ),
                )
                if result.rowcount == 1:
                    won.append(delivery_id)
            if not won:
                return []
            rows = await conn.execute(
                select(deliveries).where(deliveries.c.id.in_(won)).order_by(due_at, deliveries.c.id)
            )
            return [delivery_from_row(r) for r in rows.mappings()]

    async def settle(
        self,
        delivery_id: str,
        *,
        status: DeliveryStatus,
        now: datetime,
        payment_id: str | None = None,
        error: str | None = None,
        retry_at: datetime | None = None,
        body: bytes | None = None,
    ) -> None:
        values: dict[str, Any] = {"leased_until": None, "last_error": error}
        if body is not None:
            values["body"] = body
        if payment_id is not None:
            values["payment_id"] = payment_id
        if retry_at is not None:
            values |= {"status": DeliveryStatus.RECEIVED.value, "next_attempt_at": retry_at}
        else:
            values |= {"status": status.value, "processed_at": now}
        async with self._engine.begin() as conn:
            await conn.execute(
                update(deliveries).where(deliveries.c.id == delivery_id).values(values)
            )

    async def get(self, delivery_id: str) -> WebhookDelivery | None:
        async with self._reader.connect() as conn:
            row = (
                (await conn.execute(select(deliveries).where(deliveries.c.id == delivery_id)))
                .mappings()
                .first()
            )
        return None if row is None else delivery_from_row(row)

    async def recent(self, limit: int) -> list[WebhookDelivery]:
        stmt = (
            select(deliveries)
            .order_by(deliveries.c.received_at.desc(), deliveries.c.id.desc())
            .limit(limit)
        )
        async with self._reader.connect() as conn:
            return [delivery_from_row(r) for r in (await conn.execute(stmt)).mappings()]

    async def requeue(self, delivery_id: str, now: datetime) -> bool:
        """Not while a processor holds its lease: that one would then run twice at once."""
        stmt = (
            update(deliveries)
            .where(
                deliveries.c.id == delivery_id,
                or_(deliveries.c.leased_until.is_(None), deliveries.c.leased_until <= now),
            )
            .values(
                status=DeliveryStatus.RECEIVED.value,
                next_attempt_at=now,
                leased_until=None,
                processed_at=None,
            )
        )
        async with self._engine.begin() as conn:
            result = cast(CursorResult[Any], await conn.execute(stmt))
        return result.rowcount == 1

    async def prune(self, received_before: datetime, limit: int) -> int:
        async with self._engine.begin() as conn:
            old = select(deliveries.c.id).where(deliveries.c.received_at < received_before)
            ids = list((await conn.execute(old.limit(limit))).scalars())
            if ids:
                await conn.execute(delete(deliveries).where(deliveries.c.id.in_(ids)))
        return len(ids)

    async def _count_repeat(self, dedup_key: str) -> Recorded | None:
        """Count one more repeat of a stored delivery; None if there is no such delivery."""
        where = deliveries.c.dedup_key == dedup_key
        async with self._engine.begin() as conn:
            await conn.execute(
                update(deliveries).where(where).values(duplicates=deliveries.c.duplicates + 1)
            )
            row = (
                await conn.execute(select(deliveries.c.id, deliveries.c.duplicates).where(where))
            ).first()
        return None if row is None else Recorded(row.id, int(row.duplicates))


def delivery_from_row(row: RowMapping) -> WebhookDelivery:
    return WebhookDelivery(
        id=row["id"],
        dedup_key=row["dedup_key"],
        pg_account_id=row["pg_account_id"],
        event_type=row["event_type"],
        headers=dict(row["headers"]),
        body=bytes(row["body"]),
        received_at=row["received_at"],
        status=DeliveryStatus(row["status"]),
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        payment_id=row["payment_id"],
        last_error=row["last_error"],
        processed_at=row["processed_at"],
    )
