"""SqlOutboxStore: the polling side of the transactional outbox (docs/reliability.md, The outbox and the relay).

A batch takes the oldest unpublished rows whose aggregate has no older unpublished row (so
per-payment order holds), lets the relay publish them, and marks them published. On PostgreSQL and
MariaDB it is one transaction holding its rows locked (SKIP LOCKED): several relays share the
work, and API writes never wait on those locks. On SQLite a transaction's lock is the one write
lock every API write needs, so none is held across the publish: the rows are read under the
relays' turn (relay_turns.py), with no write lock, and marked in a short transaction of their own
before the turn is given back. Relays there take turns, as they did under the write lock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Select, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.application.ports.outbox import OutboxRow

from . import direct, json_text
from .direct import SqlConnection
from .engine import reader
from .relay_turns import RelayTurns
from .tables import outbox

# One per engine, so that relays sharing an in-memory SQLite database also take turns.
_TURNS: WeakKeyDictionary[Engine, RelayTurns] = WeakKeyDictionary()


class SqlOutboxBatch:
    """Rows locked in the batch's transaction, and marked in it (PostgreSQL, MariaDB)."""

    def __init__(self, conn: SqlConnection, rows: list[OutboxRow]) -> None:
        self._conn = conn
        self.rows = rows

    async def mark_published(self, now: datetime) -> None:
        await _mark_published(self._conn, self.rows, now)


class SqliteOutboxBatch:
    """Rows read under the relays' turn, marked in a transaction of their own (SQLite) once the
    batch's block ends without an error, as a rolled-back transaction would have it."""

    def __init__(self, engine: AsyncEngine, rows: list[OutboxRow]) -> None:
        self._engine = engine
        self.rows = rows
        self._published_at: datetime | None = None

    async def mark_published(self, now: datetime) -> None:
        self._published_at = now

    async def write_mark(self) -> None:
        now = self._published_at
        if not self.rows or now is None:
            return
        async with direct.begin(self._engine) as conn:
            await _mark_published(conn, self.rows, now)


async def _mark_published(conn: SqlConnection, rows: list[OutboxRow], now: datetime) -> None:
    if rows:
        await conn.execute(
            update(outbox).where(outbox.c.seq.in_(_padded(rows))).values(published_at=now)
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
    async def batch(self, limit: int) -> AsyncIterator[SqlOutboxBatch | SqliteOutboxBatch]:
        if self._engine.dialect.name == "sqlite":
            async with self._sqlite_batch(limit) as taken:
                yield taken
            return
        async with direct.begin(self._engine) as conn:
            yield SqlOutboxBatch(conn, await self._read(conn, limit))

    @asynccontextmanager
    async def _sqlite_batch(self, limit: int) -> AsyncIterator[SqliteOutboxBatch]:
        turns = _TURNS.get(self._engine.sync_engine)
        if turns is None:
            turns = _TURNS[self._engine.sync_engine] = RelayTurns(self._engine.url.database)
        with turns.taken() as ours:
            if not ours:  # another relay is publishing: its rows are not ours to send
                yield SqliteOutboxBatch(self._engine, [])
                return
            async with direct.connect(self._reader) as conn:  # a read: takes no write lock
                rows = await self._read(conn, limit)
            # The publish happens in this yield, with no transaction open; the mark commits
            # before the turn is given back, so the next relay never reads these rows as new.
            batch = SqliteOutboxBatch(self._engine, rows)
            yield batch
            await batch.write_mark()

    async def _read(self, conn: SqlConnection, limit: int) -> list[OutboxRow]:
        found = await conn.execute(self._next_rows(limit))
        return [
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
