"""SqlDashboardQueries: the dashboard's read model over the payments and webhook tables.

Activity is grouped in the database by the KST hour or day of creation, a text such as
`2026-03-01 18` or `2026-03-01` that each database computes its own way (see `_LocalBucket`), so a
month of payments is one small result, not a month of rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, case, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from sunap.application.dashboard_queries import (
    KST,
    MAX_PER_PAGE,
    Activity,
    Grain,
    PaymentFilter,
    PaymentSummary,
    PaymentSummaryPage,
)
from sunap.application.ports.webhook_inbox import WebhookDelivery
from sunap.domain.payment import APPROVED, PaymentMethod, PaymentStatus

from .engine import reader
from .tables import payments, webhook_deliveries
from .webhook_inbox import delivery_from_row

# Hours between UTC, in which times are stored, and KST, in which they are bucketed.
KST_OFFSET_HOURS = 9
_FORMATS = {
    # grain: (SQLite and MariaDB, PostgreSQL)
    Grain.HOUR: ("%Y-%m-%d %H", "YYYY-MM-DD HH24"),
    Grain.DAY: ("%Y-%m-%d", "YYYY-MM-DD"),
}
_PARSE = {Grain.HOUR: "%Y-%m-%d %H", Grain.DAY: "%Y-%m-%d"}


class _LocalBucket(ColumnElement[str]):
    """The KST hour or day of a stored (UTC) time, as text."""

    inherit_cache = True
    type = String()

    def __init__(self, column: ColumnElement[datetime], grain: Grain) -> None:
        self.column = column
        self.grain = grain


@compiles(_LocalBucket, "sqlite")
def _bucket_sqlite(element: _LocalBucket, compiler: SQLCompiler, **kw: Any) -> str:
    fmt = _FORMATS[element.grain][0]
    column = compiler.process(element.column, **kw)
    return f"strftime('{fmt}', {column}, '+{KST_OFFSET_HOURS} hours')"


@compiles(_LocalBucket, "postgresql")
def _bucket_postgresql(element: _LocalBucket, compiler: SQLCompiler, **kw: Any) -> str:
    fmt = _FORMATS[element.grain][1]
    column = compiler.process(element.column, **kw)
    return f"to_char(({column} AT TIME ZONE 'UTC') + interval '{KST_OFFSET_HOURS} hours', '{fmt}')"


@compiles(_LocalBucket, "mysql")
def _bucket_mysql(element: _LocalBucket, compiler: SQLCompiler, **kw: Any) -> str:
    # The driver formats the statement with `%`: a literal one is written twice.
    fmt = _FORMATS[element.grain][0].replace("%", "%%")
    column = compiler.process(element.column, **kw)
    return f"DATE_FORMAT({column} + INTERVAL {KST_OFFSET_HOURS} HOUR, '{fmt}')"


class SqlDashboardQueries:
    def __init__(self, engine: AsyncEngine) -> None:
        self._reader = reader(engine)

    async def payments(self, tenant_id: str, filter: PaymentFilter) -> PaymentSummaryPage:
        per_page = max(1, min(filter.per_page, MAX_PER_PAGE))
        page = max(1, filter.page)
        stmt = (
            select(*_SUMMARY_COLUMNS)
            .where(payments.c.tenant_id == tenant_id, *_conditions(filter))
            .order_by(payments.c.created_at.desc(), payments.c.id.desc())
            .offset((page - 1) * per_page)
            .limit(per_page + 1)
        )
        async with self._reader.connect() as conn:
            rows = list((await conn.execute(stmt)).mappings())
        items = [_summary(r) for r in rows[:per_page]]
        return PaymentSummaryPage(items=items, page=page, has_next=len(rows) > per_page)

    async def activity(self, tenant_id: str, grain: Grain, since: datetime) -> list[Activity]:
        bucket = _LocalBucket(payments.c.created_at, grain)
        paid = case((payments.c.payment_key.is_(None), 0), else_=1)
        stmt = (
            select(
                bucket.label("bucket"),
                payments.c.status,
                paid.label("paid"),
                func.count().label("n"),
                func.coalesce(func.sum(payments.c.amount), 0).label("amount"),
                func.coalesce(func.sum(payments.c.amount - payments.c.balance_amount), 0).label(
                    "refunded"
                ),
            )
            .where(payments.c.tenant_id == tenant_id, payments.c.created_at >= since)
            .group_by(bucket, payments.c.status, paid)
        )
        async with self._reader.connect() as conn:
            rows = list((await conn.execute(stmt)).mappings())
        return _fold(rows, grain)

    async def needs_review_count(self, tenant_id: str) -> int:
        stmt = select(func.count()).where(
            payments.c.tenant_id == tenant_id, payments.c.needs_review.is_(True)
        )
        async with self._reader.connect() as conn:
            return int(await conn.scalar(stmt) or 0)

    async def deliveries(
        self,
        tenant_id: str,
        own_pg_account_id: str | None,
        *,
        payment_id: str | None = None,
        page: int = 1,
        per_page: int = 25,
    ) -> tuple[list[WebhookDelivery], bool]:
        per_page = max(1, min(per_page, MAX_PER_PAGE))
        page = max(1, page)
        stmt = select(webhook_deliveries).where(_visible(tenant_id, own_pg_account_id))
        if payment_id is not None:
            stmt = stmt.where(webhook_deliveries.c.payment_id == payment_id)
        stmt = (
            stmt.order_by(webhook_deliveries.c.received_at.desc(), webhook_deliveries.c.id.desc())
            .offset((page - 1) * per_page)
            .limit(per_page + 1)
        )
        async with self._reader.connect() as conn:
            rows = list((await conn.execute(stmt)).mappings())
        return [delivery_from_row(r) for r in rows[:per_page]], len(rows) > per_page

    async def delivery(
        self, tenant_id: str, own_pg_account_id: str | None, delivery_id: str
    ) -> WebhookDelivery | None:
        stmt = select(webhook_deliveries).where(
            webhook_deliveries.c.id == delivery_id, _visible(tenant_id, own_pg_account_id)
        )
        async with self._reader.connect() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return None if row is None else delivery_from_row(row)


_SUMMARY_COLUMNS = (
    payments.c.id,
    payments.c.order_id,
    payments.c.order_name,
    payments.c.status,
    payments.c.amount,
    payments.c.balance_amount,
    payments.c.currency,
    payments.c.method,
    payments.c.customer_key,
    payments.c.payment_key,
    payments.c.needs_review,
    payments.c.review_reason,
    payments.c.created_at,
    payments.c.updated_at,
)


def _conditions(filter: PaymentFilter) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if filter.status is not None:
        found.append(payments.c.status == filter.status.value)
    if filter.search:
        term = filter.search
        found.append(
            or_(
                payments.c.order_id == term,
                payments.c.payment_key == term,
                payments.c.customer_key == term,
            )
        )
    if filter.created_from is not None:
        found.append(payments.c.created_at >= filter.created_from)
    if filter.created_before is not None:
        found.append(payments.c.created_at < filter.created_before)
    if filter.needs_review is not None:
        found.append(payments.c.needs_review.is_(filter.needs_review))
    return found


def _summary(row: Any) -> PaymentSummary:
    return PaymentSummary(
        id=row["id"],
        order_id=row["order_id"],
        order_name=row["order_name"],
        status=PaymentStatus(row["status"]),
        amount=int(row["amount"]),
        balance_amount=int(row["balance_amount"]),
        currency=row["currency"],
        method=PaymentMethod(row["method"]) if row["method"] else None,
        customer_key=row["customer_key"],
        payment_key=row["payment_key"],
        needs_review=bool(row["needs_review"]),
        review_reason=row["review_reason"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _fold(rows: Sequence[Any], grain: Grain) -> list[Activity]:
    """One Activity per bucket out of the rows grouped by bucket, status and paid-or-not."""
    totals: dict[str, dict[str, int]] = {}
    for row in rows:
        into = totals.setdefault(row["bucket"], dict.fromkeys(_COUNTERS, 0))
        n, amount = int(row["n"]), int(row["amount"])
        into["created"] += n
        status = PaymentStatus(row["status"])
        if status in APPROVED and int(row["paid"]):  # a READY one canceled locally was never paid
            into["approved"] += n
            into["approved_amount"] += amount
            into["refunded_amount"] += int(row["refunded"])
        elif status is PaymentStatus.ABORTED:
            into["refused"] += n
    return sorted(
        (
            Activity(datetime.strptime(b, _PARSE[grain]).replace(tzinfo=KST), **counts)
            for b, counts in totals.items()
        ),
        key=lambda a: a.start,
    )


_COUNTERS = ("created", "approved", "refused", "approved_amount", "refunded_amount")


def _visible(tenant_id: str, own_pg_account_id: str | None) -> ColumnElement[bool]:
    """Deliveries matched to the tenant's payments, and all of its own account's."""
    of_its_payments = webhook_deliveries.c.payment_id.in_(
        select(payments.c.id).where(payments.c.tenant_id == tenant_id).scalar_subquery()
    )
    of_its_account = (
        webhook_deliveries.c.pg_account_id == own_pg_account_id
        if own_pg_account_id is not None
        else false()
    )
    return or_(of_its_payments, of_its_account)
