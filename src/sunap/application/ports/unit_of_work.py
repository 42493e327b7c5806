"""One database transaction holding the repositories, the audit trail and the outbox."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from .audit import AuditLog
from .billing import BillingKeyRepository, SubscriptionRepository
from .payments import PaymentRepository


class UnitOfWork(Protocol):
    """One database transaction. On commit it saves every aggregate its repositories handed out
    (refusing stale versions with StaleAggregate) and writes each one's new events to the
    outbox in the same transaction. Leaving the block without commit rolls back."""

    payments: PaymentRepository
    billing_keys: BillingKeyRepository
    subscriptions: SubscriptionRepository
    audit: AuditLog
    # True where a read without row locks, followed by the versioned write (which refuses a
    # change committed meanwhile), costs fewer round trips than a locked read: PostgreSQL,
    # where such a unit of work sends no BEGIN and no COMMIT (see application/optimism.py).
    reads_optimistically: bool

    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
