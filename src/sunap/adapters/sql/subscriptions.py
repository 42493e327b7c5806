"""SqlSubscriptionRepository: subscriptions read and written inside one unit of work's
transaction, and the scheduler's questions (what is due, what is being charged)."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select

from sunap.application.ports.billing import BillingQuery, DueSubscription, SubscriptionPage
from sunap.domain.periods import Interval
from sunap.domain.subscription import Subscription, SubscriptionStatus

from .aggregate_rows import Row, SqlAggregateRepository
from .direct import SqlConnection
from .tables import subscriptions

FIELDS = (
    "id",
    "tenant_id",
    "pg_account_id",
    "customer_key",
    "billing_key_id",
    "plan",
    "order_name",
    "amount",
    "currency",
    "interval_count",
    "anchor",
    "anchor_serial",
    "current_period_start",
    "current_period_end",
    "next_charge_at",
    "trial_end",
    "charge_serial",
    "charge_attempts",
    "failed_attempts",
    "first_refused_at",
    "charging_payment_id",
    "latest_payment_id",
    "cancel_at_period_end",
    "canceled_at",
    "cancel_reason",
    "metadata",
    "created_at",
    "updated_at",
    "event_sequence",
)


def subscription_to_row(sub: Subscription) -> Row:
    row: Row = {name: getattr(sub, name) for name in FIELDS}
    return row | {"interval": sub.interval.value, "status": sub.status.value}


def subscription_from_row(row: Mapping[str, Any]) -> Subscription:
    return Subscription(
        **{name: row[name] for name in FIELDS},
        interval=Interval(row["interval"]),
        status=SubscriptionStatus(row["status"]),
        version=row["version"],
    )


class SqlSubscriptionRepository(SqlAggregateRepository[Subscription]):
    def __init__(self, session: SqlConnection, *, row_locks: bool) -> None:
        super().__init__(
            session,
            subscriptions,
            subscription_to_row,
            subscription_from_row,
            row_locks=row_locks,
        )
        self._session_ = session

    async def get(
        self, tenant_id: str, subscription_id: str, *, for_update: bool = False
    ) -> Subscription | None:
        c = subscriptions.c
        return await self.one(and_(c.tenant_id == tenant_id, c.id == subscription_id), for_update)

    async def get_any_tenant(
        self, subscription_id: str, *, for_update: bool = False
    ) -> Subscription | None:
        return await self.one(subscriptions.c.id == subscription_id, for_update)

    async def list(self, tenant_id: str, query: BillingQuery) -> SubscriptionPage:
        items, cursor = await self.page(tenant_id, query)
        return SubscriptionPage(items=items, next_cursor=cursor)

    async def live_on_billing_key(self, billing_key_id: str) -> builtins.list[str]:
        c = subscriptions.c
        stmt = select(c.id).where(
            c.billing_key_id == billing_key_id, c.status != SubscriptionStatus.CANCELED.value
        )
        return list((await self._session_.execute(stmt.order_by(c.id))).scalars())

    async def due(
        self, now: datetime, limit: int, after: DueSubscription | None = None
    ) -> builtins.list[DueSubscription]:
        c = subscriptions.c
        stmt = select(c.id, c.next_charge_at).where(
            c.next_charge_at <= now, c.charging_payment_id.is_(None)
        )
        if after is not None:  # a range of ix_subscriptions_next_charge_at, then its ties by id
            stmt = stmt.where(
                c.next_charge_at >= after.next_charge_at,
                or_(c.next_charge_at > after.next_charge_at, c.id > after.id),
            )
        stmt = stmt.order_by(c.next_charge_at, c.id).limit(limit)
        return [DueSubscription(i, at) for i, at in (await self._session_.execute(stmt)).all()]

    async def charging(self, limit: int) -> builtins.list[tuple[str, str]]:
        c = subscriptions.c
        stmt = (
            select(c.id, c.charging_payment_id)
            .where(c.charging_payment_id.is_not(None))
            .order_by(c.updated_at, c.id)
            .limit(limit)
        )
        return [(i, p) for i, p in (await self._session_.execute(stmt)).all()]

    async def count_by_status(self) -> dict[SubscriptionStatus, int]:
        c = subscriptions.c
        stmt = select(c.status, func.count()).group_by(c.status)
        found: dict[str, int] = {s: n for s, n in (await self._session_.execute(stmt)).all()}
        return {s: int(found.get(s.value, 0)) for s in SubscriptionStatus}
