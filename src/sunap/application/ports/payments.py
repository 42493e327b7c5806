"""Payments as the use cases read and write them."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sunap.domain.payment import Payment, PaymentStatus


@dataclass(frozen=True)
class PaymentQuery:
    order_id: str | None = None
    customer_key: str | None = None
    status: PaymentStatus | None = None
    limit: int = 20
    cursor: str | None = None  # opaque, from a previous page
    subscription_id: str | None = None  # one subscription's charges


@dataclass(frozen=True)
class PaymentPage:
    items: list[Payment]
    next_cursor: str | None


class PaymentRepository(Protocol):
    def add(self, payment: Payment) -> None:
        """Insert on commit. A second payment for one (tenant, orderId) or (PG account, orderId)
        fails the commit with DuplicateOrderId; a claim of a paymentKey another payment of the
        account holds fails it with PaymentKeyTaken."""
        ...

    def attach(self, payment: Payment) -> Payment:
        """A copy of `payment` as this process last committed (or read) it, tracked as if read
        here, with no statement sent: its write is version-checked as any other, and refused
        (StaleAggregate) if the payment changed since. For a caller holding the payment it just
        committed, where a read would only find it again. Columns written without a version
        (a reconcile lease's `next_reconcile_at`) may have moved meanwhile: only what the caller
        changes is written, as after a read."""
        ...

    async def get(
        self, tenant_id: str, payment_id: str, *, for_update: bool = False
    ) -> Payment | None: ...

    async def get_by_order_id(
        self, tenant_id: str, order_id: str, *, for_update: bool = False
    ) -> Payment | None: ...

    async def get_by_payment_key(
        self, pg_account_id: str, payment_key: str, *, for_update: bool = False
    ) -> Payment | None:
        """Across tenants, within one PG account (where payment keys are unique): for webhooks
        and look-up answers, which carry no tenant."""
        ...

    async def get_by_account_order(
        self, pg_account_id: str, order_id: str, *, for_update: bool = False
    ) -> Payment | None:
        """Across tenants, within one PG account (where orderIds are unique): for
        DEPOSIT_CALLBACK webhooks, which name only an orderId."""
        ...

    async def get_any_tenant(self, payment_id: str, *, for_update: bool = False) -> Payment | None:
        """Across tenants: for workers."""
        ...

    async def list(self, tenant_id: str, query: PaymentQuery) -> PaymentPage: ...

    async def due_for_reconcile(self, now: datetime, limit: int) -> builtins.list[str]:
        """Ids of payments whose next_reconcile_at has passed, oldest first."""
        ...

    async def changeable_at_toss_since(
        self, since: datetime, limit: int, *, after: tuple[datetime, str] | None = None
    ) -> builtins.list[tuple[datetime, str]]:
        """(created_at, id) of payments created at or after `since` that Toss may still change
        without Sunap (paid, partly refunded, or waiting for a deposit), oldest first; with
        `after`, only those past that (created_at, id)."""
        ...

    async def lease_for_reconcile(
        self, payment_id: str, seen_at: datetime, until: datetime
    ) -> bool:
        """Move next_reconcile_at from `seen_at` to `until` atomically: True if this caller won
        the item, so two workers never reconcile one payment at once."""
        ...

    async def ready_created_before(
        self,
        cutoff: datetime,
        limit: int,
        *,
        now: datetime,
        after: tuple[datetime, str] | None = None,
    ) -> builtins.list[tuple[datetime, str]]:
        """(created_at, id) of READY payments created at or before `cutoff`, not waiting for a
        person's review and not postponed past `now` (`expiry_recheck_at`), oldest first; with
        `after`, only those past that (created_at, id)."""
        ...

    async def claim_cancel_turn(
        self, tenant_id: str, payment_id: str, now: datetime, hold_until: datetime
    ) -> datetime | None:
        """Take the payment's turn to send a cancel to the PG, holding it until `hold_until`,
        if it is free at `now` (a conditional UPDATE, taking effect at once like
        `lease_for_reconcile`'s): None when taken (or when there is no such payment), else the
        moment it frees. One turn per payment, shared by every process on the database."""
        ...

    async def end_cancel_turn(
        self, tenant_id: str, payment_id: str, held_until: datetime, next_at: datetime
    ) -> None:
        """Free the turn held until `held_until` from `next_at` on (unless it was taken over)."""
        ...
