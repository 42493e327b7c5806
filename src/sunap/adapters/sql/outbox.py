"""SqlOutboxStore: the polling side of the transactional outbox (docs/reliability.md, The outbox and the relay).

A batch is one transaction: lock the oldest unpublished rows whose aggregate has no older
unpublished row (so per-payment order holds), let the relay publish them, mark them published,
commit. Several relays can run at once on PostgreSQL and MariaDB (SKIP LOCKED); on SQLite the
write lock taken at BEGIN makes them take turns.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.application.ports.outbox import OutboxRow

from . import direct, json_text
from .direct import SqlConnection
from .engine import reader
from .tables import outbox


class SqlOutboxBatch:
    def __init__(self, conn: SqlConnection, rows: list[OutboxRow]) -> None:
        self._conn = conn
        self.rows = rows

    async def mark_published(self, now: datetime) -> None:
        if not self.rows:
            return
        await self._conn.execute(
            update(outbox).where(outbox.c.seq.in_(_padded(self.rows))).values(published_at=now)
        )


def _padded(rows: list[OutboxRow]) -> list[int]:
    """The batch's seqs, the last repeated up to the next power of two: the IN list then takes a
    handful of lengths, and the driver prepares and caches a handful of statements, not one per
    batch size (a repeated value matches the same row)."""
    seqs = [r.seq for r in rows]
    return seqs + seqs[-1:] * ((1 << (len(seqs) - 1).bit_length()) - len(seqs))


class SqlOutboxStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._reader = reader(engine)
        self._next_rows_by_limit: dict[int, Select[Any]] = {}  # built once: the relay polls

    @asynccontextmanager
    async def batch(self, limit: int) -> AsyncIterator[SqlOutboxBatch]:
        async with direct.begin(self._engine) as conn:
            found = await conn.execute(self._next_rows(limit))
            rows = [
                OutboxRow(
                    seq=r["seq"],
                    id=r["id"],
                    aggregatetype=r["aggregatetype"],
                    aggregateid=r["aggregateid"],
                    type=r["type"],
                    payload=json_text.dumps(r["payload"]).encode(),
                )
                for r in found.mappings()
            ]
            yield SqlOutboxBatch(conn, rows)

    async def lag(self, now: datetime) -> tuple[int, float]:
        stmt = select(func.count(), func.min(outbox.c.created_at)).where(
            outbox.c.published_at.is_(None)
        )
        async with direct.connect(self._reader) as conn:
            count, oldest = (await conn.execute(stmt)).one()
        if not count or oldest is None:
            return 0, 0.0
        return int(count), max(0.0, (now - oldest).total_seconds())

    def _next_rows(self, limit: int) -> Select[Any]:
        stmt = self._next_rows_by_limit.get(limit)
        if stmt is None:
            stmt = self._next_rows_by_limit[limit] = self._build_next_rows(limit)
        return stmt

    def _build_next_rows(self, limit: int) -> Select[Any]:
        older = outbox.alias("older")
        head_of_line = ~(
            select(older.c.seq)
            .where(
                older.c.aggregateid == outbox.c.aggregateid,
                older.c.published_at.is_(None),
                older.c.seq < outbox.c.seq,
            )
            .exists()
        )
        stmt = (
            select(outbox)
            .where(outbox.c.published_at.is_(None), head_of_line)
            .order_by(outbox.c.seq)
            .limit(limit)
        )
        dialect = self._engine.dialect.name
        if dialect == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True, of=outbox)
        elif dialect == "mysql":
            stmt = stmt.with_for_update(skip_locked=True)
        return stmt
