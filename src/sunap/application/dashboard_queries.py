"""The dashboard's read model: payments filtered and paged, activity by hour and by day, and the
webhook deliveries a tenant may see. Reads only; every query is scoped to one tenant.

Times are bucketed in Korean Standard Time (UTC+9, no daylight saving): the day an operator in
Seoul calls "today". A payment counts in the bucket of its creation.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Protocol

from sunap.domain.payment import PaymentMethod, PaymentStatus

from .ports.webhook_inbox import WebhookDelivery

KST = timezone(timedelta(hours=9), "KST")
MAX_PER_PAGE = 100


@dataclass(frozen=True)
class PaymentFilter:
    status: PaymentStatus | None = None
    search: str | None = None  # an exact orderId, paymentKey or customerKey
    created_from: datetime | None = None  # inclusive
    created_before: datetime | None = None  # exclusive
    needs_review: bool | None = None
    page: int = 1
    per_page: int = 25


@dataclass(frozen=True)
class PaymentSummary:
    id: str
    order_id: str
    order_name: str
    status: PaymentStatus
    amount: int
    balance_amount: int
    currency: str
    method: PaymentMethod | None
    customer_key: str | None
    payment_key: str | None
    needs_review: bool
    review_reason: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class PaymentSummaryPage:
    items: list[PaymentSummary]
    page: int
    has_next: bool


class Grain(enum.Enum):
    HOUR = "hour"
    DAY = "day"

    @property
    def step(self) -> timedelta:
        return timedelta(hours=1) if self is Grain.HOUR else timedelta(days=1)

    def floor(self, moment: datetime) -> datetime:
        """The start of the bucket holding `moment`, in KST."""
        local = moment.astimezone(KST).replace(minute=0, second=0, microsecond=0)
        return local if self is Grain.HOUR else local.replace(hour=0)


@dataclass(frozen=True)
class Activity:
    """What happened to the payments created in one bucket."""

    start: datetime  # KST
    created: int = 0
    approved: int = 0  # the PG approved them (some may be canceled since)
    refused: int = 0  # the PG refused them (ABORTED)
    approved_amount: int = 0
    refunded_amount: int = 0  # canceled out of the approved amount

    @property
    def approval_rate(self) -> float | None:
        """Approved out of those the PG decided on; None when it decided on none."""
        decided = self.approved + self.refused
        return None if decided == 0 else self.approved / decided

    @property
    def refund_rate(self) -> float | None:
        return None if self.approved_amount == 0 else self.refunded_amount / self.approved_amount


def activity_series(
    found: list[Activity], grain: Grain, now: datetime, buckets: int
) -> list[Activity]:
    """The last `buckets` buckets up to the one holding `now`, oldest first, empty ones filled."""
    last = grain.floor(now)
    by_start = {a.start: a for a in found}
    starts = [last - grain.step * i for i in reversed(range(buckets))]
    return [by_start.get(start, Activity(start)) for start in starts]


def series_start(grain: Grain, now: datetime, buckets: int) -> datetime:
    return grain.floor(now) - grain.step * (buckets - 1)


class DashboardQueries(Protocol):
    async def payments(self, tenant_id: str, filter: PaymentFilter) -> PaymentSummaryPage: ...

    async def activity(self, tenant_id: str, grain: Grain, since: datetime) -> list[Activity]:
        """The non-empty buckets of payments created at or after `since`."""
        ...

    async def needs_review_count(self, tenant_id: str) -> int: ...

    async def deliveries(
        self,
        tenant_id: str,
        own_pg_account_id: str | None,
        *,
        payment_id: str | None = None,
        page: int = 1,
        per_page: int = 25,
    ) -> tuple[list[WebhookDelivery], bool]:
        """Deliveries the tenant may see, newest first, and whether a next page exists: those
        matched to its payments, and every delivery to its own PG account (if it has one).
        Unmatched deliveries of the shared default account are nobody's to see here."""
        ...

    async def delivery(
        self, tenant_id: str, own_pg_account_id: str | None, delivery_id: str
    ) -> WebhookDelivery | None:
        """One delivery, if the tenant may see it (as in `deliveries`)."""
        ...
