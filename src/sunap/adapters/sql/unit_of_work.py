"""SqlUnitOfWork: one transaction that saves payments, their cancels, audit entries and outbox rows.

Every event a payment recorded becomes one outbox row in the same transaction as the change that
caused it (RELIABILITY.md §4): either both are committed or neither is.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sunap.application.ports import AuditLog, PaymentRepository, UnitOfWork
from sunap.domain.events import PaymentEvent
from sunap.domain.payment import Payment

from .audit import SqlAuditLog
from .engine import SQLITE_BUSY_TIMEOUT, reader
from .payments import SqlPaymentRepository
from .tables import outbox

_INSERT_OUTBOX = insert(outbox)  # built once: its compiled form is reused
OutboxEnvelope = Callable[[Payment, PaymentEvent], dict[str, Any]]
TopicFor = Callable[[str], str]
# Told of the payments a commit saved, once it is durable (e.g. to wake WatchPayment streams).
OnCommit = Callable[[Sequence[Payment]], None]


class SqlUnitOfWork:
    payments: PaymentRepository
    audit: AuditLog

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        outbox_envelope: OutboxEnvelope,
        topic_for: TopicFor | None = None,
        writer_turn: asyncio.Lock | None = None,
        on_commit: OnCommit | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._writer_turn = writer_turn
        self._on_commit = on_commit
        self._outbox_envelope = outbox_envelope
        self._topic_for = topic_for
        self._session: AsyncSession | None = None

    async def __aenter__(self) -> SqlUnitOfWork:
        if self._writer_turn is not None:
            await asyncio.wait_for(self._writer_turn.acquire(), timeout=SQLITE_BUSY_TIMEOUT)
        session = self._session_factory()
        row_locks = session.get_bind().dialect.name != "sqlite"
        self._session = session
        self._payments = self.payments = SqlPaymentRepository(session, row_locks=row_locks)
        self._audit = self.audit = SqlAuditLog(session)
        return self

    async def __aexit__(self, *exc: object) -> None:
        session, self._session = self._session, None
        try:
            if session is not None:
                try:
                    await session.rollback()  # a no-op after commit
                finally:
                    await session.close()
        finally:
            if self._writer_turn is not None and self._writer_turn.locked():
                self._writer_turn.release()

    async def commit(self) -> None:
        session = self._require_session()
        try:
            await self._audit.flush()
            saved = await self._payments.save_all()
            for payment in saved:
                await self._write_outbox(session, payment)
            await session.commit()
        except BaseException:
            await self.rollback()
            raise
        self._payments.saved()
        for payment in saved:
            payment.events.clear()
        if self._on_commit is not None and saved:
            self._on_commit(saved)

    async def rollback(self) -> None:
        await self._require_session().rollback()
        self._audit.discard()
        self._payments.forget_all()

    async def _write_outbox(self, session: AsyncSession, payment: Payment) -> None:
        for event in payment.events:
            envelope = self._outbox_envelope(payment, event)
            await session.execute(
                _INSERT_OUTBOX,
                dict(
                    id=str(envelope["id"]),
                    aggregatetype="payment",
                    aggregateid=payment.id,
                    type=event.type,
                    topic=self._topic_for(event.type) if self._topic_for else None,
                    payload=json.loads(json.dumps(envelope, default=str)),
                    created_at=payment.updated_at,
                ),
            )

    def _require_session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("Use the unit of work as `async with uow:`.")
        return self._session


def sql_unit_of_work_factory(
    engine: AsyncEngine,
    outbox_envelope: OutboxEnvelope,
    topic_for: TopicFor | None = None,
    on_commit: OnCommit | None = None,
    *,
    read_only: bool = False,
) -> Callable[[], UnitOfWork]:
    """A fresh SqlUnitOfWork per call, sharing one session factory.

    `read_only`: units of work that only read (they never commit). On SQLite they neither queue
    for the writer's turn nor take the write lock: in WAL mode a read never waits for a writer.
    """
    sessions = async_sessionmaker(reader(engine) if read_only else engine, expire_on_commit=False)
    # SQLite has one writer at a time. Units of work of this process queue for it in order here,
    # instead of all spinning in SQLite's busy handler, where a waiter can starve for seconds.
    turn = asyncio.Lock() if engine.dialect.name == "sqlite" and not read_only else None

    def new_unit_of_work() -> UnitOfWork:
        return SqlUnitOfWork(
            sessions,
            outbox_envelope=outbox_envelope,
            topic_for=topic_for,
            writer_turn=turn,
            on_commit=on_commit,
        )

    return new_unit_of_work
