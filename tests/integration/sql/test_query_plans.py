"""Every query the payments API issues finds its rows through an index, so that look-ups and
pages cost the same at ten thousand payments as at a million (bench/scale.py measures it).

The queries are the ones the adapters really send (captured from the engine while they serve
the API's calls), each explained by the database itself: PostgreSQL with sequential scans and
sorts priced out (so a plan that still shows one has no index to use instead), SQLite with
EXPLAIN QUERY PLAN.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.sql.api_keys import SqlApiKeyStore
from sunap.adapters.sql.engine import create_engine
from sunap.adapters.sql.idempotency import SqlIdempotencyStore
from sunap.adapters.sql.unit_of_work import sql_unit_of_work_factory
from sunap.application.ports.billing import DueSubscription
from sunap.application.ports.idempotency import StoredResponse
from sunap.application.ports.payments import PaymentQuery
from sunap.domain.payment import PaymentStatus
from tests.integration.sql.payments_factory import envelope, later, new_payment
from tests.support.databases import create_database, drop_database, migrate, selected_backends

EXPLAINED = [b for b in selected_backends() if b in ("sqlite", "postgresql")] or ["sqlite"]


@pytest.fixture(params=EXPLAINED)
def explained_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    url = create_database(request.param, tmp_path)
    try:
        migrate(url)
        yield url
    finally:
        drop_database(url)


@pytest.fixture
async def explained_engine(explained_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(explained_url)
    try:
        yield engine
    finally:
        await engine.dispose()


class Captured:
    """The statements (with their parameters) the engine sent, reads and keyed writes only."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.statements: dict[str, Any] = {}
        event.listen(engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, params: Any, *_rest: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE")):
            self.statements.setdefault(statement, params)


async def the_api_queries(engine: AsyncEngine) -> dict[str, Any]:
    """Serve each call of the payments API through the adapters, and keep what they sent."""
    captured = Captured(engine)
    keys = SqlApiKeyStore(engine)
    tenant = await keys.ensure_tenant("plans", "ten_plans")
    await keys.add_key(
        key_id="key_plans", tenant_id=tenant, key_hash="h" * 64, scopes=frozenset({"admin"}),
        now=later(0),
    )  # fmt: skip
    await keys.find_by_hash("h" * 64)  # every request: who is calling

    idempotency = SqlIdempotencyStore(engine)
    for _ in range(2):  # a new key, then the same key again (the row is read under a lock)
        await idempotency.claim(tenant, "idem-1", "POST /v1/payments x", later(0), later(90))
    await idempotency.finish(tenant, "idem-1", StoredResponse(201, b"{}", "application/json"))
    await idempotency.claim(tenant, "idem-2", "POST /v1/payments y", later(0), later(90))
    await idempotency.release(tenant, "idem-2")

    uow = sql_unit_of_work_factory(engine, envelope)
    payments = [
        new_payment(tenant, created_at=later(i), customer_key=f"c{i % 3}") for i in range(30)
    ]
    async with uow() as tx:
        for payment in payments:
            tx.payments.add(payment)
        await tx.commit()
    first = payments[0]
    async with uow() as tx:  # a confirm's claim and record: read under a lock, then save
        found = await tx.payments.get_by_order_id(tenant, first.order_id, for_update=True)
        assert found is not None
        found.schedule_reconcile(later(100), attempts=0)
        await tx.commit()
    async with uow() as tx:
        await tx.payments.get(tenant, first.id)
        await tx.payments.get(tenant, first.id, for_update=True)
        await tx.payments.get_any_tenant(first.id, for_update=True)
        await tx.payments.get_by_account_order(first.pg_account_id, first.order_id)
        await tx.payments.get_by_payment_key(first.pg_account_id, "pk-none", for_update=True)
        await tx.audit.list_for_payment(tenant, first.id)
        page = await tx.payments.list(tenant, PaymentQuery(limit=10))
        for query in (
            PaymentQuery(limit=10, cursor=page.next_cursor),
            PaymentQuery(status=PaymentStatus.READY),
            PaymentQuery(status=PaymentStatus.READY, cursor=page.next_cursor),
            PaymentQuery(customer_key="c1"),
            PaymentQuery(customer_key="c1", cursor=page.next_cursor),
            PaymentQuery(order_id=first.order_id),
        ):
            await tx.payments.list(tenant, replace(query, limit=10))
    event.remove(engine.sync_engine, "before_cursor_execute", captured._seen)
    return captured.statements


async def plan_of(engine: AsyncEngine, statement: str, params: Any) -> list[str]:
    async with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
            return [str(row[-1]) for row in rows]
        await conn.exec_driver_sql("SET enable_seqscan = off")
        await conn.exec_driver_sql("SET enable_sort = off")
        rows = await conn.exec_driver_sql(f"EXPLAIN {statement}", params)
        plan = [str(row[0]) for row in rows]
        await conn.rollback()
        return plan


def full_scans(plan: list[str], dialect: str) -> list[str]:
    if dialect == "sqlite":  # "SCAN payments" reads every row; "SCAN … USING INDEX" does not
        # "SCAN page" reads the rows of a page already taken through an index (sorts, below).
        scans = [line for line in plan if re.fullmatch(r"SCAN \w+", line.strip())]
        return [line for line in scans if line.strip() != "SCAN page"]
    return [line for line in plan if "Seq Scan" in line]


def sorts(plan: list[str], dialect: str) -> list[str]:
    """Sorts of the payments themselves. A page is taken in its index's order (a subquery with
    its LIMIT), then joined to its cancels and put in order again: that sort of the page's few
    rows is above the LIMIT in PostgreSQL's plan, after the page's co-routine in SQLite's."""
    if dialect == "sqlite":
        end = next((i for i, line in enumerate(plan) if line.strip() == "SCAN page"), len(plan))
        return [line for line in plan[:end] if "TEMP B-TREE" in line]
    start = next((i for i, line in enumerate(plan) if "Limit" in line), 0)
    return [line for line in plan[start:] if re.search(r"\bSort\b", line)]


async def test_every_query_of_the_payments_api_reads_through_an_index(
    explained_engine: AsyncEngine,
) -> None:
    statements = await the_api_queries(explained_engine)
    dialect = explained_engine.dialect.name
    assert len(statements) >= 15, list(statements)  # every kind of call above was captured
    unindexed = {}
    for statement, params in statements.items():
        plan = await plan_of(explained_engine, statement, params)
        bad = full_scans(plan, dialect)
        if "ORDER BY payments.created_at DESC" in statement:  # a page must come in index order
            bad += sorts(plan, dialect)
        if bad:
            unindexed[statement] = plan
    assert unindexed == {}


async def test_a_page_filtered_by_status_walks_the_status_index(
    explained_engine: AsyncEngine,
) -> None:
    """Without it, a tenant of a million DONE payments asking for READY ones reads them all."""
    statements = await the_api_queries(explained_engine)
    by_status = [
        s
        for s in statements
        if "ORDER BY payments.created_at DESC" in s and "payments.status =" in s
    ]
    assert by_status
    for statement in by_status:
        plan = "\n".join(await plan_of(explained_engine, statement, statements[statement]))
        assert "ix_payments_tenant_status_newest" in plan, plan


async def test_each_page_of_the_schedulers_due_list_is_a_range_of_its_index(
    explained_engine: AsyncEngine,
) -> None:
    """A pass reads the due list a page at a time, each page after the last row of the one
    before: the page after is a range of ix_subscriptions_next_charge_at that starts there, not
    a walk from the top past every row already seen."""
    captured = Captured(explained_engine)
    now = later(0)
    async with sql_unit_of_work_factory(explained_engine, envelope)() as tx:
        await tx.subscriptions.due(now, 50)
        await tx.subscriptions.due(now, 50, DueSubscription("sub_seen", later(-3600)))
    event.remove(explained_engine.sync_engine, "before_cursor_execute", captured._seen)
    pages = [s for s in captured.statements if "FROM subscriptions" in s]
    assert len(pages) == 2, pages
    dialect = explained_engine.dialect.name
    for statement in pages:
        plan = await plan_of(explained_engine, statement, captured.statements[statement])
        assert full_scans(plan, dialect) == [], plan
        assert "ix_subscriptions_next_charge_at" in "\n".join(plan), plan
    after = "\n".join(await plan_of(explained_engine, pages[1], captured.statements[pages[1]]))
    assert re.search(r"next_charge_at ?>=? ?['?$]", after), after  # starts at the cursor
