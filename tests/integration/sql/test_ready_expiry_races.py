"""READY expiry on real databases (SQLite, PostgreSQL, MariaDB): several expiry workers, each
with its own engine as separate processes would have, race each other and the customers'
confirms. Every payment ends either confirmed or expired, never both, each change once, and a
confirm that comes after the expiry never reaches the PG."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from sunap.adapters.sql.engine import create_engine
from sunap.adapters.sql.tables import audit_entries, payments
from sunap.adapters.sql.unit_of_work import sql_unit_of_work_factory
from sunap.adapters.system import RandomIds
from sunap.adapters.toss.webhooks import TossWebhooks
from sunap.application.commands import ConfirmPayment, CreatePayment
from sunap.application.confirm_payment import confirm_payment
from sunap.application.create_payment import create_payment
from sunap.application.deps import Deps
from sunap.application.envelope import EnvelopeFactory
from sunap.application.expire_unpaid import ExpiryCursor, expire_unpaid
from sunap.application.ports.gateway import GatewayUnknown
from sunap.domain.errors import NotConfirmableStatus
from sunap.domain.payment import PaymentStatus
from tests.fakes.accounts import OneGatewayAccounts
from tests.fakes.clock import FakeClock
from tests.fakes.gateway import CONFIRM, LOOKUP, FakeGateway
from tests.integration.sql.payments_factory import outbox_rows
from tests.support.databases import unique

TTL = timedelta(hours=24)
WORKERS = 3
PAYMENTS = 12
S = PaymentStatus

DepsFor = Callable[[], Deps]


@pytest.fixture
async def processes(fresh_database_url: str) -> AsyncIterator[DepsFor]:
    """Deps with an engine of their own on each call; one clock and one Toss for all. The
    database is the test's own: an expiry worker takes every READY payment it finds."""
    clock = FakeClock(datetime.now(UTC) - 2 * TTL)
    toss = FakeGateway(clock)
    async with AsyncExitStack() as engines:

        def new_process() -> Deps:
            engine = create_engine(fresh_database_url)
            engines.push_async_callback(engine.dispose)
            ids = RandomIds()
            uow = sql_unit_of_work_factory(engine, EnvelopeFactory(ids, clock))
            return Deps(
                uow=uow,
                accounts=OneGatewayAccounts(toss),
                clock=clock,
                ids=ids,
                webhook_format=TossWebhooks(),
            )

        yield new_process


async def test_racing_expiry_workers_and_confirms_settle_each_payment_once(
    processes: DepsFor, fresh_database_url: str
) -> None:
    api = processes()
    tenant = unique("tnt")
    created = []
    for n in range(PAYMENTS):
        order_id = unique(f"order{n}")
        created.append(
            await create_payment(
                CreatePayment(tenant, "default", "책", 5000, order_id=order_id), api
            )
        )
    toss = await api.accounts.gateway("default")
    assert isinstance(toss, FakeGateway) and isinstance(api.clock, FakeClock)
    paying = created[::2]  # half of the customers come back just as the payments fall due
    keys = {p.id: toss.pay_in_window(p.order_id, 5000) for p in paying}
    api.clock.advance(TTL + timedelta(seconds=1))

    async def confirm(payment_id: str, order_id: str) -> PaymentStatus | None:
        command = ConfirmPayment(tenant, keys[payment_id], order_id, 5000)
        try:
            return (await confirm_payment(command, api)).status
        except NotConfirmableStatus:
            return None  # expired first: refused before any PG call

    workers = [processes() for _ in range(WORKERS)]
    results = await asyncio.gather(
        *(expire_unpaid(w, TTL) for w in workers),
        *(confirm(p.id, p.order_id) for p in paying),
    )
    expired_by_workers = sum(results[:WORKERS])
    confirmed = [status for status in results[WORKERS:] if status is not None]

    engine = create_engine(fresh_database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(payments.c.id, payments.c.status).where(payments.c.tenant_id == tenant)
            )
            status_of = {row.id: S(row.status) for row in rows}
            audited = await conn.execute(
                select(audit_entries.c.payment_id, func.count())
                .where(audit_entries.c.type == "payment.expired")
                .where(audit_entries.c.tenant_id == tenant)
                .group_by(audit_entries.c.payment_id)
            )
            expiry_audits = {row[0]: row[1] for row in audited}
        events = {p.id: [r["type"] for r in await outbox_rows(engine, p.id)] for p in created}
    finally:
        await engine.dispose()

    assert set(status_of.values()) <= {S.EXPIRED, S.DONE}
    assert confirmed == [S.DONE] * len(confirmed)
    done = [pid for pid, status in status_of.items() if status is S.DONE]
    expired = [pid for pid, status in status_of.items() if status is S.EXPIRED]
    assert len(done) == len(confirmed) and set(done) <= set(keys)
    assert len(expired) == expired_by_workers == PAYMENTS - len(done)
    assert len(toss.calls_of(CONFIRM)) == len(done)  # a lost race never reached the PG
    for pid in expired:
        assert events[pid] == ["payment.created", "payment.expired"]
        assert expiry_audits[pid] == 1
    for pid in done:
        assert "payment.expired" not in events[pid] and pid not in expiry_audits


async def test_payments_toss_cannot_be_asked_about_do_not_hold_up_the_rest(
    processes: DepsFor,
) -> None:
    """The batch after a full one starts past it (the keyset `after`), and a payment flagged
    for review is passed over, on each database's own comparison of times and ids."""
    deps = processes()
    assert isinstance(deps.clock, FakeClock)
    tenant = unique("tnt")
    created = []
    for n in range(4):
        order_id = unique(f"order{n}")
        created.append(
            await create_payment(
                CreatePayment(tenant, "default", "책", 5000, order_id=order_id), deps
            )
        )
        # Made in this order: on one instant they would go by id, random within a millisecond.
        deps.clock.advance(seconds=1)
    async with deps.uow() as uow:  # a person looks at the oldest: the expiry leaves it alone
        flagged = await uow.payments.get_any_tenant(created[0].id, for_update=True)
        assert flagged is not None
        flagged.flag_for_review("looked at by a person", deps.clock.now())
        await uow.commit()
    deps.clock.advance(TTL + timedelta(seconds=1))
    toss = await deps.accounts.gateway("default")
    assert isinstance(toss, FakeGateway)
    toss.fail_next(LOOKUP, GatewayUnknown("PROVIDER_ERROR", "down"), times=2)
    cursor = ExpiryCursor()

    assert await expire_unpaid(deps, TTL, limit=2, cursor=cursor) == 0  # Toss down for these two
    assert (
        await expire_unpaid(deps, TTL, limit=2, cursor=cursor) == 1
    )  # the next one is not held up

    async with deps.read_uow() as uow:
        statuses = [(await uow.payments.get_any_tenant(p.id)) for p in created]
    assert [p.status for p in statuses if p is not None] == [S.READY, S.READY, S.READY, S.EXPIRED]
    assert [c.order_id for c in toss.calls_of(LOOKUP)] == [p.order_id for p in created[1:]]
