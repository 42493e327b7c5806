"""The payments `sunap recheck` asks Toss about: created since a time, in a status Toss may still
change without us, oldest first, page after page."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.sql.unit_of_work import sql_unit_of_work_factory
from sunap.application.ports.unit_of_work import UnitOfWorkFactory
from sunap.domain.payment import Approval, Payment, PaymentMethod, PaymentStatus
from tests.integration.sql.payments_factory import envelope, new_payment, paid
from tests.support.databases import unique


@pytest.fixture
def uow(engine: AsyncEngine) -> UnitOfWorkFactory:
    return sql_unit_of_work_factory(engine, envelope)


def waiting_for_deposit(payment: Payment) -> Payment:
    key, now = unique("tpk"), payment.created_at
    payment.begin_confirm(payment_key=key, amount=payment.amount, idempotency_key=key, now=now)
    approval = Approval(key, PaymentStatus.WAITING_FOR_DEPOSIT, PaymentMethod.VIRTUAL_ACCOUNT, now)
    payment.approve(approval, now)
    return payment


async def test_paid_refunded_in_part_and_waiting_payments_since_the_time_are_listed(
    uow: UnitOfWorkFactory,
) -> None:
    # The database is shared with other tests and runs: a moment of this test's own.
    since = datetime(2090, 1, 1, tzinfo=UTC) + timedelta(seconds=random.randrange(10**8))
    tenant = unique("tnt")

    def at(seconds: int) -> Payment:
        return new_payment(tenant, created_at=since + timedelta(seconds=seconds))

    before = paid(at(-1))
    done, part, waiting = paid(at(0)), paid(at(1), 500), waiting_for_deposit(at(2))
    ready, refunded = at(3), paid(at(4), 15000)
    async with uow() as tx:
        for payment in (before, done, part, waiting, ready, refunded):
            tx.payments.add(payment)
        await tx.commit()
    mine = {p.id for p in (before, done, part, waiting, ready, refunded)}

    async with uow() as tx:
        found = await tx.payments.changeable_at_toss_since(since, 1000)
        first_page = await tx.payments.changeable_at_toss_since(since, 1)
        next_page = await tx.payments.changeable_at_toss_since(since, 1, after=first_page[0])

    assert [i for _, i in found if i in mine] == [done.id, part.id, waiting.id]
    assert [i for _, i in first_page] == [done.id]
    assert [i for _, i in next_page] == [part.id]
