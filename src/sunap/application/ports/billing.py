"""Billing keys and subscriptions as the use cases read and write them."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sunap.domain.billing_key import BillingKey
from sunap.domain.subscription import Subscription, SubscriptionStatus


@dataclass(frozen=True)
class BillingQuery:
    customer_key: str | None = None
    status: str | None = None  # a BillingKeyStatus or SubscriptionStatus value
    limit: int = 20
    cursor: str | None = None


@dataclass(frozen=True)
class BillingKeyPage:
    items: list[BillingKey]
    next_cursor: str | None


@dataclass(frozen=True)
class SubscriptionPage:
    items: list[Subscription]
    next_cursor: str | None


@dataclass(frozen=True)
class DueSubscription:
    """One row of the scheduler's due list, in its order: (next_charge_at, id)."""

    id: str
    next_charge_at: datetime


class BillingKeyRepository(Protocol):
    def add(self, key: BillingKey) -> None: ...

    async def get(
        self, tenant_id: str, key_id: str, *, for_update: bool = False
    ) -> BillingKey | None: ...

    async def get_any_tenant(self, key_id: str, *, for_update: bool = False) -> BillingKey | None:
        """For workers and the PG's deletion notice, which carry no tenant."""
        ...

    async def get_by_digest(
        self, pg_account_id: str, digest: str, *, for_update: bool = False
    ) -> BillingKey | None:
        """The key whose PG credential has this sha256, within one PG account."""
        ...

    async def list(self, tenant_id: str, query: BillingQuery) -> BillingKeyPage: ...


class SubscriptionRepository(Protocol):
    def add(self, subscription: Subscription) -> None: ...

    async def get(
        self, tenant_id: str, subscription_id: str, *, for_update: bool = False
    ) -> Subscription | None: ...

    async def get_any_tenant(
        self, subscription_id: str, *, for_update: bool = False
    ) -> Subscription | None: ...

    async def list(self, tenant_id: str, query: BillingQuery) -> SubscriptionPage: ...

    async def live_on_billing_key(self, billing_key_id: str) -> builtins.list[str]:
        """Ids of the subscriptions charged to the key that are not CANCELED."""
        ...

    async def due(
        self, now: datetime, limit: int, after: DueSubscription | None = None
    ) -> builtins.list[DueSubscription]:
        """Subscriptions whose next charge (or end) has come and no charge is in flight, soonest
        first (then by id), from just after `after` when it is given: a page of the due list."""
        ...

    async def charging(self, limit: int) -> builtins.list[tuple[str, str]]:
        """(subscription id, payment id) of the charges claimed and not yet settled."""
        ...

    async def count_by_status(self) -> dict[SubscriptionStatus, int]: ...
