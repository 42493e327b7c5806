"""The database itself refuses money that cannot be (docs/reliability.md, The database's own checks): a bug in the code
cannot store a negative balance or cancel more than was paid."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.sql.tables import payments
from sunap.adapters.sql.unit_of_work import sql_unit_of_work_factory
from tests.integration.sql.payments_factory import envelope, new_payment
from tests.support.databases import unique


@pytest.mark.parametrize(
    "values",
    [
        {"amount": 0, "balance_amount": 0},
        {"balance_amount": -1},
        {"balance_amount": 15001},
        {"pending_cancel_amount": -1},
        {"balance_amount": 1000, "pending_cancel_amount": 1001},
    ],
)
async def test_the_database_refuses_impossible_amounts(
    engine: AsyncEngine, values: dict[str, Any]
) -> None:
    payment = new_payment(unique("tnt"), amount=15000)
    async with sql_unit_of_work_factory(engine, envelope)() as tx:
        tx.payments.add(payment)
        await tx.commit()

    # A CHECK violation is an IntegrityError on PostgreSQL and SQLite, error 4025 on MariaDB.
    with pytest.raises(DBAPIError, match="ck_payments_"):
        async with engine.begin() as conn:
            await conn.execute(update(payments).where(payments.c.id == payment.id).values(values))


async def test_money_columns_hold_amounts_beyond_32_bits(engine: AsyncEngine) -> None:
    tenant = unique("tnt")
    payment = new_payment(tenant, amount=10_000_000_000_000)
    factory = sql_unit_of_work_factory(engine, envelope)
    async with factory() as tx:
        tx.payments.add(payment)
        await tx.commit()
    async with factory() as tx:
        again = await tx.payments.get(tenant, payment.id)
    assert again is not None and again.amount == again.balance_amount == 10_000_000_000_000
