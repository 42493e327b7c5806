"""Payments living their lives at once through the real SqlUnitOfWork and the Payment aggregate.

Each commit is one state change and writes one outbox event: created, completed (a fake
approval: no PG is involved), then partial cancels, the last of which takes the rest.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.sql.tables import outbox
from sunap.adapters.sql.unit_of_work import sql_unit_of_work_factory
from sunap.adapters.system import RandomIds, SystemClock
from sunap.application.envelope import EnvelopeFactory
from sunap.application.ports.unit_of_work import UnitOfWorkFactory
from sunap.domain.payment import Approval, Payment, PaymentMethod, PaymentStatus
from tests.support.databases import unique

CANCEL_UNIT = 1000


@dataclass(frozen=True)
class Workload:
    payments: int
    cancels: int  # per payment; the last one cancels the rest

    @property
    def events(self) -> int:
        return self.payments * (2 + self.cancels)


@dataclass(frozen=True)
class StoredEvent:
    """An outbox row as the relay should publish it."""

    event_id: str
    payment_id: str
    sequence: int
    type: str


def unit_of_work_factory(engine: AsyncEngine) -> UnitOfWorkFactory:
    clock, ids = SystemClock(), RandomIds()
    return sql_unit_of_work_factory(engine, EnvelopeFactory(ids, clock))


async def run_workload(
    engine: AsyncEngine, workload: Workload, *, concurrency: int = 16
) -> list[str]:
    """Drive every payment through its life, `concurrency` payments at a time; their ids."""
    uow = unit_of_work_factory(engine)
    tenant = unique("tnt")
    gate = asyncio.Semaphore(concurrency)

    async def one_payment() -> str:
        async with gate:
            return await live(uow, tenant, workload.cancels)

    return list(await asyncio.gather(*(one_payment() for _ in range(workload.payments))))


async def live(uow: UnitOfWorkFactory, tenant: str, cancels: int) -> str:
    clock = SystemClock()
    payment = Payment.create(
        id=unique("pay"),
        tenant_id=tenant,
        pg_account_id=unique("acct"),  # tests share a database: keys stay apart
        order_id=unique("order"),
        order_name="Relay workload",
        amount=CANCEL_UNIT * cancels,
        currency="KRW",
        now=clock.now(),
    )
    async with uow() as tx:
        tx.payments.add(payment)
        await tx.commit()

    async with uow() as tx:
        loaded = await tx.payments.get(tenant, payment.id, for_update=True)
        assert loaded is not None
        now = clock.now()
        key = unique("pk")
        loaded.begin_confirm(payment_key=key, amount=loaded.amount, idempotency_key=key, now=now)
        loaded.approve(Approval(key, PaymentStatus.DONE, PaymentMethod.CARD, now), now)
        await tx.commit()

    for n in range(cancels):
        async with uow() as tx:
            loaded = await tx.payments.get(tenant, payment.id, for_update=True)
            assert loaded is not None
            now = clock.now()
            cancel = loaded.begin_cancel(
                cancel_id=unique("cxl"),
                reason="workload",
                amount=None if n == cancels - 1 else CANCEL_UNIT,
                idempotency_key=unique("ck"),
                has_refund_account=False,
                now=now,
            )
            assert cancel is not None
            loaded.complete_cancel(
                cancel.id, transaction_key=unique("tx"), canceled_at=now, now=now
            )
            await tx.commit()
    return payment.id


async def stored_events(engine: AsyncEngine, payment_ids: list[str]) -> list[StoredEvent]:
    """What the outbox holds for these payments, in relay order."""
    wanted = set(payment_ids)
    async with engine.connect() as conn:
        rows = await conn.execute(select(outbox).order_by(outbox.c.seq))
        return [
            StoredEvent(r["id"], r["aggregateid"], _payload(r["payload"])["sequence"], r["type"])
            for r in rows.mappings()
            if r["aggregateid"] in wanted
        ]


def _payload(value: object) -> dict[str, object]:
    decoded = json.loads(value) if isinstance(value, str | bytes) else value
    assert isinstance(decoded, dict)
    return decoded
