"""SqlUnitOfWork: one transaction that saves aggregates (payments and their cancels, billing keys,
subscriptions), audit entries and outbox rows.

Every event an aggregate recorded becomes one outbox row in the same transaction as the change that
caused it (docs/reliability.md, "The outbox and the relay"): either both are committed or neither is. The events are
collected from every repository the unit of work handed out, as cosmicpython's
`collect_new_events` does, so a new aggregate needs a repository here and nothing else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sunap.application.ports.audit import AuditLog
from sunap.application.ports.billing import BillingKeyRepository, SubscriptionRepository
from sunap.application.ports.payments import PaymentRepository
from sunap.application.ports.unit_of_work import UnitOfWork
from sunap.domain.aggregate import Aggregate, DomainEvent
from sunap.domain.payment import Payment

from .audit import SqlAuditLog
from .billing_keys import SqlBillingKeyRepository
from .direct import DirectConnection, SqlConnection, insert_soon, takes_direct_path
from .engine import SQLITE_BUSY_TIMEOUT, reader
from .payments import SqlPaymentRepository
from .subscriptions import SqlSubscriptionRepository
from .tables import outbox, tenants

# The envelope of one event, given the aggregate's tenant's name.
OutboxEnvelope = Callable[[Aggregate, DomainEvent, str], dict[str, Any]]
# Told of the payments a commit saved, with the events it wrote, once it is durable (e.g. to wake
# WatchPayment streams, to count approvals).
OnCommit = Callable[[Sequence[Payment]], None]


class _Tracking(Protocol):
    """What the unit of work needs of each repository it hands out."""

    def with_events(self) -> Sequence[Aggregate]:
        """The aggregates with events to publish, in the order they were first read or added:
        each is among those save_all writes."""
        ...

    def writes_pending(self) -> int:
        """How many statements save_all would send now."""
        ...

    async def save_all(self) -> Sequence[Aggregate]:
        """Write what changed (version-checked) and return the aggregates written."""
        ...

    def saved(self) -> None:
        """The transaction committed: what was written is now what was read."""
        ...

    def forget_all(self) -> None: ...


class SqlUnitOfWork:
    payments: PaymentRepository
    billing_keys: BillingKeyRepository
    subscriptions: SubscriptionRepository
    audit: AuditLog
    reads_optimistically = False

    def __init__(
        self,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        *,
        outbox_envelope: OutboxEnvelope,
        writer_turn: asyncio.Lock | None = None,
        on_commit: OnCommit | None = None,
        read_only: bool = False,
        tenant_names: dict[str, str] | None = None,
    ) -> None:
        self._engine = engine
        self._read_only = read_only
        # Tenants' names by id, shared by the process's units of work: a name never changes.
        self._tenant_names = {} if tenant_names is None else tenant_names
        self._sessions = sessions
        self._writer_turn = writer_turn
        self._on_commit = on_commit
        self._outbox_envelope = outbox_envelope
        self._repositories: list[_Tracking] = []
        self._session: SqlConnection | None = None

    async def __aenter__(self) -> SqlUnitOfWork:
        if self._writer_turn is not None:
            await asyncio.wait_for(self._writer_turn.acquire(), timeout=SQLITE_BUSY_TIMEOUT)
        try:
            # Statements go through the driver (direct.py), or through a SQLAlchemy session
            # for an engine someone listens to (tracing).
            if takes_direct_path(self._engine):
                session: SqlConnection = await DirectConnection.open(self._engine)
            else:
                session = self._sessions()
        except BaseException:
            self._release_writer_turn()
            raise
        dialect = self._engine.dialect.name
        row_locks = dialect != "sqlite"
        self._session = session
        # A read waits for no BEGIN there, and a lone write goes alone (direct.py).
        self.reads_optimistically = (
            isinstance(session, DirectConnection) and dialect == "postgresql"
        )
        payments = SqlPaymentRepository(
            session, dialect=dialect, row_locks=row_locks, tracks=not self._read_only
        )
        billing_keys = SqlBillingKeyRepository(session, row_locks=row_locks)
        subscriptions = SqlSubscriptionRepository(session, row_locks=row_locks)
        self.payments, self.billing_keys, self.subscriptions = payments, billing_keys, subscriptions
        self._repositories = [payments, billing_keys, subscriptions]
        self._audit = self.audit = SqlAuditLog(session)
        return self

    async def __aexit__(self, *exc: object) -> None:
        session, self._session = self._session, None
        try:
            if isinstance(session, DirectConnection):
                await session.close()  # rolls back what was not committed
            elif isinstance(session, AsyncSession):
                try:
                    await session.rollback()  # a no-op after commit
                finally:
                    await session.close()
        finally:
            self._release_writer_turn()

    def _release_writer_turn(self) -> None:
        if self._writer_turn is not None and self._writer_turn.locked():
            self._writer_turn.release()

    async def commit(self) -> None:
        if self._read_only:  # it kept nothing of what it read: a change would be lost
            raise RuntimeError("A unit of work that only reads has nothing to commit.")
        session = self._require_session()
        try:
            await self._learn_tenant_names(session)
            # The audit and outbox rows go first: on PostgreSQL, one of each rides on the
            # payment's versioned update (direct.insert_soon), one round trip for three.
            await self._audit.flush()
            for repository in self._repositories:
                for aggregate in repository.with_events():
                    await self._write_outbox(session, aggregate)
            if isinstance(session, DirectConnection) and self._writes_pending() == 1:
                session.write_alone()  # e.g. a claim or a verdict read without a lock
            saved: list[Aggregate] = []
            for repository in self._repositories:
                saved.extend(await repository.save_all())
            await session.commit()
        except BaseException:
            await self.rollback()
            raise
        for repository in self._repositories:
            repository.saved()
        payments = [a for a in saved if isinstance(a, Payment)]
        try:
            if self._on_commit is not None and payments:
                self._on_commit(payments)  # still holding the events it committed
        finally:
            for aggregate in saved:
                aggregate.events.clear()

    def _writes_pending(self) -> int:
        return sum(repository.writes_pending() for repository in self._repositories)

    async def rollback(self) -> None:
        await self._require_session().rollback()
        self._audit.discard()
        for repository in self._repositories:
            repository.forget_all()

    async def _learn_tenant_names(self, session: SqlConnection) -> None:
        """Events name their tenant as its keys were made for it (`keys create --tenant`). Read
        once per tenant and process, before anything is queued: a commit costs no statement."""
        for repository in self._repositories:
            for aggregate in repository.with_events():
                tenant_id = aggregate.tenant_id
                if tenant_id not in self._tenant_names:
                    found = select(tenants.c.name).where(tenants.c.id == tenant_id)
                    name = await session.scalar(found)
                    # No row: a tenant made by hand, never by `keys create`; it keeps its id.
                    self._tenant_names[tenant_id] = tenant_id if name is None else str(name)

    async def _write_outbox(self, session: SqlConnection, aggregate: Aggregate) -> None:
        tenant = self._tenant_names[aggregate.tenant_id]
        for event in aggregate.events:
            envelope = self._outbox_envelope(aggregate, event, tenant)
            await insert_soon(
                session,
                outbox,
                dict(
                    id=str(envelope["id"]),
                    aggregatetype=aggregate.aggregate_type,
                    aggregateid=aggregate.id,
                    type=event.type,
                    payload=envelope,  # JSON already: the API answers with these same shapes
                    created_at=aggregate.updated_at,
                ),
            )

    def _require_session(self) -> SqlConnection:
        if self._session is None:
            raise RuntimeError("Use the unit of work as `async with uow:`.")
        return self._session


def sql_unit_of_work_factory(
    engine: AsyncEngine,
    outbox_envelope: OutboxEnvelope,
    on_commit: OnCommit | None = None,
    *,
    read_only: bool = False,
) -> Callable[[], UnitOfWork]:
    """A fresh SqlUnitOfWork per call, sharing one engine and session factory.

    `read_only`: units of work that only read (they never commit). On SQLite they neither queue
    for the writer's turn nor take the write lock: in WAL mode a read never waits for a writer.
    """
    bound = reader(engine) if read_only else engine
    sessions = async_sessionmaker(bound, expire_on_commit=False)
    # SQLite has one writer at a time. Units of work of this process queue for it in order here,
    # instead of all spinning in SQLite's busy handler, where a waiter can starve for seconds.
    turn = asyncio.Lock() if engine.dialect.name == "sqlite" and not read_only else None
    tenant_names: dict[str, str] = {}

    def new_unit_of_work() -> UnitOfWork:
        return SqlUnitOfWork(
            bound,
            sessions,
            outbox_envelope=outbox_envelope,
            writer_turn=turn,
            on_commit=on_commit,
            read_only=read_only,
            tenant_names=tenant_names,
        )

    return new_unit_of_work
