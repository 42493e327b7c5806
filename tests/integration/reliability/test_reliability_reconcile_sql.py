"""Several reconcilers on one real database (SQLite, PostgreSQL, MariaDB) and a real Toss
sandbox over HTTP: every answer Toss applied and we lost is settled once, by one worker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.sql.engine import create_engine
from sunap.adapters.sql.tables import outbox
from sunap.adapters.sql.unit_of_work import sql_unit_of_work_factory
from sunap.adapters.system import RandomIds, SystemClock
from sunap.adapters.toss import RetryPolicy, TossTimeouts, open_toss_gateway
from sunap.adapters.toss.webhooks import TossWebhooks
from sunap.application.commands import ConfirmPayment, CreatePayment
from sunap.application.confirm_payment import confirm_payment
from sunap.application.create_payment import create_payment
from sunap.application.deps import Deps
from sunap.application.envelope import EnvelopeFactory
from sunap.application.errors import PgTimeout, PgUnavailable
from sunap.application.reconcile import ReconcileOutcome, reconcile_due
from sunap.domain.payment import PaymentStatus
from tests.fakes.accounts import OneGatewayAccounts
from tests.support.databases import unique
from tests.support.sandbox_server import SANDBOX_SECRET_KEY, running_sandbox

WORKERS = 4
PAYMENTS = 6
# Due at once, so the workers race for every payment; a second check only a minute later.
DELAYS = (timedelta(0), timedelta(seconds=60))


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    with running_sandbox() as url:
        yield url


@pytest.fixture
async def toss(sandbox_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=10) as client:
        yield client
        await client.delete("/sandbox/faults")


async def worker_deps(database_url: str, sandbox_url: str) -> AsyncIterator[Deps]:
    """One worker process's wiring: its own engine and Toss client, as `sunap worker` has."""
    engine = create_engine(database_url)
    clock, ids = SystemClock(), RandomIds()
    try:
        async with open_toss_gateway(
            SANDBOX_SECRET_KEY,
            sandbox_url,
            retry_policy=RetryPolicy.never(),  # the answer must really be lost to us
            breaker=None,  # the lost answers we stage are not an outage
            timeouts=TossTimeouts(connect=1, read=5, write=1, pool=1),
        ) as gateway:
            yield Deps(
                uow=sql_unit_of_work_factory(engine, EnvelopeFactory(ids, clock)),
                accounts=OneGatewayAccounts(gateway),
                clock=clock,
                ids=ids,
                webhook_format=TossWebhooks(),
                reconcile_delays=DELAYS,
            )
    finally:
        await engine.dispose()


async def test_racing_reconcilers_settle_each_lost_answer_once(
    database_url: str, sandbox_url: str, toss: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    workers = [worker_deps(database_url, sandbox_url) for _ in range(WORKERS)]
    deps = [await w.__anext__() for w in workers]
    try:
        tenant = unique("ten")
        payments = []
        for _ in range(PAYMENTS):
            order_id = unique("order")
            payment = await create_payment(
                CreatePayment(tenant, "default", "socks", 4000, order_id=order_id), deps[0]
            )
            window = await toss.post(
                "/sandbox/payments", json={"orderId": order_id, "amount": 4000}
            )
            await toss.post(
                "/sandbox/faults",
                json={"path": "/v1/payments/confirm", "afterApply": True, "dropConnection": True},
            )
            with pytest.raises((PgTimeout, PgUnavailable)):
                await confirm_payment(
                    ConfirmPayment(tenant, window.json()["paymentKey"], order_id, 4000), deps[0]
                )
            payments.append(payment)

        passes = await asyncio.gather(*(reconcile_due(d, limit=1000) for d in deps))

        for payment in payments:
            outcomes = [p[payment.id] for p in passes if payment.id in p]
            assert outcomes.count(ReconcileOutcome.SETTLED) == 1, outcomes
            async with deps[0].uow() as uow:
                settled = await uow.payments.get(tenant, payment.id)
            assert settled is not None and settled.status is PaymentStatus.DONE
            assert settled.next_reconcile_at is None
            lookups = [
                c
                for c in (await toss.get("/sandbox/calls")).json()["items"]
                if c["path"] == f"/v1/payments/orders/{payment.order_id}"
            ]
            assert len(lookups) == 1  # one worker asked; the others saw the lease
            async with engine.connect() as connection:
                types = (
                    (
                        await connection.execute(
                            select(outbox.c.type)
                            .where(outbox.c.aggregateid == payment.id)
                            .order_by(outbox.c.seq)
                        )
                    )
                    .scalars()
                    .all()
                )
            assert list(types) == ["payment.created", "payment.completed"]
    finally:
        for w in workers:
            await w.aclose()
