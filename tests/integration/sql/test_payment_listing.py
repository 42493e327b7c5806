"""Listing payments: newest first, page by page through an opaque cursor, filtered, per tenant."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.sql.unit_of_work import sql_unit_of_work_factory
from sunap.application.ports.payments import PaymentQuery
from sunap.application.ports.unit_of_work import UnitOfWorkFactory
from sunap.domain.errors import InvalidRequest
from sunap.domain.payment import Payment, PaymentStatus
from tests.integration.sql.payments_factory import envelope, later, new_payment, paid
from tests.support.databases import unique


@pytest.fixture
def uow(engine: AsyncEngine) -> UnitOfWorkFactory:
    return sql_unit_of_work_factory(engine, envelope)


async def save(uow: UnitOfWorkFactory, *payments: Payment) -> None:
    async with uow() as tx:
        for payment in payments:
            tx.payments.add(payment)
        await tx.commit()


async def all_pages(uow: UnitOfWorkFactory, tenant: str, **filters: object) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor: str | None = None
    async with uow() as tx:
        while True:
            page = await tx.payments.list(
                tenant,
                PaymentQuery(limit=2, cursor=cursor, **filters),  # type: ignore[arg-type]
            )
            pages.append([p.id for p in page.items])
            if page.next_cursor is None:
                return pages
            cursor = page.next_cursor


async def test_payments_are_listed_newest_first_across_pages_without_gaps_or_repeats(
    uow: UnitOfWorkFactory,
) -> None:
    tenant = unique("tnt")
    # Two payments share a created_at: the id breaks the tie, so the cursor never skips one.
    payments = [new_payment(tenant, created_at=later(s)) for s in (0, 10, 10, 20, 30)]
    await save(uow, *payments)
    await save(uow, new_payment(unique("tnt"), created_at=later(15)))  # another tenant's

    pages = await all_pages(uow, tenant)

    newest_first = sorted(payments, key=lambda p: (p.created_at, p.id), reverse=True)
    assert [i for page in pages for i in page] == [p.id for p in newest_first]
    assert [len(page) for page in pages] == [2, 2, 1]


async def test_listing_filters_by_order_id_customer_key_and_status(uow: UnitOfWorkFactory) -> None:
    tenant = unique("tnt")
    alice = [new_payment(tenant, customer_key="alice", created_at=later(n)) for n in range(3)]
    bob = new_payment(tenant, customer_key="bob", created_at=later(5))
    alice[1].expire(later(6))
    await save(uow, *alice, bob)

    assert await all_pages(uow, tenant, customer_key="alice") == [
        [alice[2].id, alice[1].id],
        [alice[0].id],
    ]
    assert await all_pages(uow, tenant, status=PaymentStatus.EXPIRED) == [[alice[1].id]]
    assert await all_pages(uow, tenant, order_id=bob.order_id) == [[bob.id]]
    assert await all_pages(uow, tenant, customer_key="bob", status=PaymentStatus.EXPIRED) == [[]]
    assert await all_pages(uow, unique("tnt"), order_id=bob.order_id) == [[]]


@pytest.mark.parametrize("limit", [0, 101])
async def test_a_limit_outside_1_to_100_is_refused(uow: UnitOfWorkFactory, limit: int) -> None:
    async with uow() as tx:
        with pytest.raises(InvalidRequest):
            await tx.payments.list(unique("tnt"), PaymentQuery(limit=limit))


@pytest.mark.parametrize("cursor", ["not-a-cursor", "WzEsMl0", "WyIyMDI2LTAzLTAxIiwgInAiXQ"])
async def test_a_cursor_we_did_not_issue_is_refused(uow: UnitOfWorkFactory, cursor: str) -> None:
    async with uow() as tx:
        with pytest.raises(InvalidRequest):
            await tx.payments.list(unique("tnt"), PaymentQuery(cursor=cursor))


async def test_a_page_brings_each_payments_cancels_in_their_order(engine: AsyncEngine) -> None:
    """A page and its cancels come in one statement (the page joined to its cancels): each
    payment once, with its own cancels in order, a payment without any included, on a unit of
    work that only reads as on one that writes."""
    tenant = unique("tnt")
    three = paid(new_payment(tenant, created_at=later(1)), 1000, 2000, 3000)
    none = new_payment(tenant, created_at=later(2))
    one = paid(new_payment(tenant, created_at=later(3)), 500)
    await save(sql_unit_of_work_factory(engine, envelope), three, none, one)

    for read_only in (True, False):
        units = sql_unit_of_work_factory(engine, envelope, read_only=read_only)
        async with units() as tx:
            first = await tx.payments.list(tenant, PaymentQuery(limit=2))
            assert first.next_cursor is not None
            rest = await tx.payments.list(tenant, PaymentQuery(limit=2, cursor=first.next_cursor))
        listed = [*first.items, *rest.items]
        assert [p.id for p in listed] == [one.id, none.id, three.id]
        assert [[c.amount for c in p.cancels] for p in listed] == [[500], [], [1000, 2000, 3000]]
        assert [p.balance_amount for p in listed] == [14500, 15000, 9000]
        assert rest.next_cursor is None


async def test_a_unit_of_work_that_only_reads_refuses_to_commit(engine: AsyncEngine) -> None:
    """It keeps no copy of what it read to compare, so a change made on it would be lost."""
    payment = new_payment(unique("tnt"))
    await save(sql_unit_of_work_factory(engine, envelope), payment)
    reads = sql_unit_of_work_factory(engine, envelope, read_only=True)
    async with reads() as tx:
        found = await tx.payments.get(payment.tenant_id, payment.id)
        assert found is not None
        found.flag_for_review("looked odd", later(5))
        with pytest.raises(RuntimeError, match="only reads"):
            await tx.commit()
    async with reads() as tx:
        again = await tx.payments.get(payment.tenant_id, payment.id)
    assert again is not None and not again.needs_review
