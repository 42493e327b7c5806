"""SqlDashboardQueries: the dashboard's reads, per tenant, on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.sql.dashboard import SqlDashboardQueries
from sunap.adapters.sql.unit_of_work import sql_unit_of_work_factory
from sunap.adapters.sql.webhook_inbox import SqlWebhookInbox
from sunap.application.dashboard_queries import KST, Grain, PaymentFilter
from sunap.application.ports.unit_of_work import UnitOfWorkFactory
from sunap.application.ports.webhook_inbox import WebhookDelivery
from sunap.domain.payment import Failure, Payment, PaymentStatus
from tests.integration.sql.payments_factory import envelope, new_payment, paid
from tests.support.databases import unique

S = PaymentStatus
# 18:30 KST on 1 March, and 00:10 KST on 2 March: one UTC day, two Korean ones.
EVENING = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
PAST_MIDNIGHT = datetime(2026, 3, 1, 15, 10, tzinfo=UTC)


@pytest.fixture
def uow(engine: AsyncEngine) -> UnitOfWorkFactory:
    return sql_unit_of_work_factory(engine, envelope)


async def save(uow: UnitOfWorkFactory, *payments: Payment) -> None:
    async with uow() as tx:
        for payment in payments:
            tx.payments.add(payment)
        await tx.commit()


def refused(payment: Payment) -> Payment:
    key = unique("tpk")
    now = payment.created_at
    payment.begin_confirm(payment_key=key, amount=payment.amount, idempotency_key=key, now=now)
    payment.abort(Failure("REJECT_CARD_PAYMENT", "no"), now)
    return payment


async def test_payments_are_filtered_searched_and_paged_within_the_tenant(
    engine: AsyncEngine, uow: UnitOfWorkFactory
) -> None:
    tenant = unique("tnt")
    done = paid(new_payment(tenant, customer_key="cust-7", created_at=EVENING))
    ready = [new_payment(tenant, created_at=EVENING + timedelta(minutes=i)) for i in range(1, 4)]
    late = new_payment(tenant, created_at=PAST_MIDNIGHT)
    foreign = new_payment(unique("tnt"), created_at=EVENING)
    await save(uow, done, *ready, late, foreign)
    queries = SqlDashboardQueries(engine)

    async def ids(**filters: object) -> list[str]:
        page = await queries.payments(tenant, PaymentFilter(**filters))  # type: ignore[arg-type]
        return [p.id for p in page.items]

    assert await ids(status=S.DONE) == [done.id]
    assert await ids(search=done.order_id) == [done.id]
    assert await ids(search=done.payment_key) == [done.id]
    assert await ids(search="cust-7") == [done.id]
    assert await ids(search=foreign.order_id) == []
    day_one = datetime(2026, 3, 1, tzinfo=KST)
    assert await ids(created_from=day_one + timedelta(days=1)) == [late.id]
    assert late.id not in await ids(created_before=day_one + timedelta(days=1))
    first = await queries.payments(tenant, PaymentFilter(per_page=2))
    second = await queries.payments(tenant, PaymentFilter(per_page=2, page=2))
    third = await queries.payments(tenant, PaymentFilter(per_page=2, page=3))
    assert [p.id for p in first.items] == [late.id, ready[2].id] and first.has_next
    assert [p.id for p in second.items] == [ready[1].id, ready[0].id] and second.has_next
    assert [p.id for p in third.items] == [done.id] and not third.has_next


async def test_activity_is_grouped_by_korean_hour_and_day_with_rates(
    engine: AsyncEngine, uow: UnitOfWorkFactory
) -> None:
    tenant = unique("tnt")
    canceled_unpaid = new_payment(tenant, amount=9000, created_at=EVENING)
    canceled_unpaid.begin_cancel(
        cancel_id="c",
        reason="r",
        amount=None,
        idempotency_key="k",
        has_refund_account=False,
        now=EVENING,
    )
    await save(
        uow,
        paid(new_payment(tenant, amount=10000, created_at=EVENING), 2500),
        paid(new_payment(tenant, amount=30000, created_at=EVENING + timedelta(minutes=20))),
        refused(new_payment(tenant, amount=5000, created_at=EVENING + timedelta(minutes=5))),
        canceled_unpaid,
        paid(new_payment(tenant, amount=7000, created_at=PAST_MIDNIGHT)),
        paid(new_payment(unique("tnt"), amount=99999, created_at=EVENING)),
    )
    queries = SqlDashboardQueries(engine)

    days = await queries.activity(tenant, Grain.DAY, EVENING - timedelta(days=1))
    assert [d.start for d in days] == [
        datetime(2026, 3, 1, tzinfo=KST),
        datetime(2026, 3, 2, tzinfo=KST),
    ]
    first = days[0]
    assert (first.created, first.approved, first.refused) == (4, 2, 1)
    assert (first.approved_amount, first.refunded_amount) == (40000, 2500)
    assert first.approval_rate == pytest.approx(2 / 3)
    assert first.refund_rate == pytest.approx(2500 / 40000)
    assert (days[1].approved_amount, days[1].refused, days[1].approval_rate) == (7000, 0, 1.0)

    hours = await queries.activity(tenant, Grain.HOUR, EVENING)
    assert [h.start for h in hours] == [
        datetime(2026, 3, 1, 18, tzinfo=KST),
        datetime(2026, 3, 2, 0, tzinfo=KST),
    ]
    assert await queries.activity(tenant, Grain.HOUR, PAST_MIDNIGHT + timedelta(hours=1)) == []


async def test_the_review_count_is_the_tenants_flagged_payments(
    engine: AsyncEngine, uow: UnitOfWorkFactory
) -> None:
    tenant = unique("tnt")
    flagged = new_payment(tenant)
    flagged.flag_for_review("disagrees", EVENING)
    others = new_payment(unique("tnt"))
    others.flag_for_review("disagrees", EVENING)
    await save(uow, flagged, new_payment(tenant), others)
    queries = SqlDashboardQueries(engine)
    assert await queries.needs_review_count(tenant) == 1
    page = await queries.payments(tenant, PaymentFilter(needs_review=True))
    assert [(p.id, p.review_reason) for p in page.items] == [(flagged.id, "disagrees")]


def delivery(account: str, payment_id: str | None, at: datetime) -> WebhookDelivery:
    return WebhookDelivery(
        id=unique("whd"),
        dedup_key=unique(f"{account}:k"),
        pg_account_id=account,
        event_type="PAYMENT_STATUS_CHANGED",
        headers={},
        body=b"{}",
        received_at=at,
        payment_id=payment_id,
    )


async def test_a_tenant_sees_its_payments_deliveries_and_its_own_accounts_only(
    engine: AsyncEngine, uow: UnitOfWorkFactory
) -> None:
    tenant_a, tenant_b = unique("tnt"), unique("tnt")
    own_account = unique("acct")
    mine, theirs = new_payment(tenant_a), new_payment(tenant_b)
    await save(uow, mine, theirs)
    inbox = SqlWebhookInbox(engine)
    matched_a = delivery("default", mine.id, EVENING)
    matched_b = delivery("default", theirs.id, EVENING + timedelta(seconds=1))
    unmatched_shared = delivery("default", None, EVENING + timedelta(seconds=2))
    unmatched_own = delivery(own_account, None, EVENING + timedelta(seconds=3))
    for d in (matched_a, matched_b, unmatched_shared, unmatched_own):
        await inbox.record(d)
    queries = SqlDashboardQueries(engine)

    seen_a, more = await queries.deliveries(tenant_a, own_account)
    assert [d.id for d in seen_a] == [unmatched_own.id, matched_a.id] and not more
    seen_b, _ = await queries.deliveries(tenant_b, None)
    assert [d.id for d in seen_b] == [matched_b.id]
    of_payment, _ = await queries.deliveries(tenant_a, own_account, payment_id=mine.id)
    assert [d.id for d in of_payment] == [matched_a.id]
    assert await queries.delivery(tenant_b, None, matched_a.id) is None
    assert await queries.delivery(tenant_b, None, unmatched_shared.id) is None
    found = await queries.delivery(tenant_a, own_account, unmatched_own.id)
    assert found is not None and found.id == unmatched_own.id
