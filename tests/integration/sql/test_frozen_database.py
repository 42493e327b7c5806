"""A database that accepts connections and never answers (its server stopped, as `kill -STOP`
stops it; here a proxy in front of it that forwards nothing) fails each statement as an outage
once the statement timeout has passed (adapters/sql/answer_timeout.py), on both paths a statement
takes (the driver's own, direct.py, and SQLAlchemy's), on PostgreSQL and MariaDB; it held the
request, and its connection, forever. Once it answers again the pool serves as before.

A confirm whose verdict meets the frozen database is an outage too, and nothing is guessed: the
payment is what the database has (the verdict committed, or the claim alone: IN_PROGRESS, which
the reconciler settles from Toss's record). These tests wait TIMEOUT, not the service's minute."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.crypto.fernet_box import FernetSecretBox, new_key
from sunap.adapters.sql import direct
from sunap.adapters.sql.engine import create_engine, is_outage
from sunap.adapters.sql.tables import outbox, tenants
from sunap.adapters.system import SystemClock
from sunap.application.commands import ConfirmPayment, CreatePayment
from sunap.application.confirm_payment import confirm_payment
from sunap.application.create_payment import create_payment
from sunap.application.reconcile import ReconcileOutcome, reconcile_payment
from sunap.domain.payment import PaymentStatus
from tests.fakes.gateway import FakeGateway, GatewayCall
from tests.support.databases import (
    create_database,
    drop_database,
    migrate,
    selected_backends,
    unique,
)
from tests.support.sql_deps import deps_on
from tests.support.thread_proxy import ThreadedTcpProxy

SERVERS = [b for b in selected_backends() if b != "sqlite"]
TIMEOUT = 1.0  # this test's statement timeout
GUARD = 60.0  # no answer or error by then: the statement waits with no limit


@asynccontextmanager
async def not_hanging() -> AsyncIterator[None]:
    """Fails the test where a statement would wait forever (TimeoutError is an outage too, so a
    guard's own must not pass for the statement timeout's)."""
    guard = asyncio.timeout(GUARD)
    try:
        async with guard:
            yield
    except TimeoutError:
        if guard.expired():
            pytest.fail(f"no answer nor error after {GUARD:g} s: the database was waited for")
        raise


@pytest.fixture(params=SERVERS)
async def frozen(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[AsyncEngine, ThreadedTcpProxy]]:
    """An engine on a fresh migrated database, through a proxy the test pauses."""
    url = create_database(request.param, tmp_path)
    migrate(url)
    parsed = make_url(url)
    proxy = ThreadedTcpProxy(parsed.port or 0)
    proxy.start()
    through = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(False)
    engine = create_engine(through, statement_timeout=TIMEOUT)
    try:
        yield engine, proxy
    finally:
        proxy.resume()
        await engine.dispose()
        proxy.stop()
        drop_database(url)


async def select_one(engine: AsyncEngine, path: str) -> int:
    if path == "direct":
        async with direct.connect(engine) as connection:
            return int(await connection.scalar(select(1)))
    async with engine.connect() as connection:
        return int((await connection.execute(text("SELECT 1"))).scalar_one())


@pytest.mark.parametrize("path", ["direct", "sqlalchemy"])
async def test_a_statement_a_frozen_database_never_answers_is_an_outage_then_the_pool_serves(
    frozen: tuple[AsyncEngine, ThreadedTcpProxy], path: str
) -> None:
    engine, proxy = frozen
    assert await select_one(engine, path) == 1  # a warm pooled connection
    proxy.pause()
    with pytest.raises(Exception) as unanswered:
        async with not_hanging():
            await select_one(engine, path)
    assert is_outage(unanswered.value), repr(unanswered.value)
    proxy.resume()
    assert await select_one(engine, path) == 1


async def test_a_commit_a_frozen_database_never_answers_is_an_outage(
    frozen: tuple[AsyncEngine, ThreadedTcpProxy],
) -> None:
    engine, proxy = frozen
    async with direct.connect(engine) as connection:
        await connection.execute(insert(tenants).values(id=unique("tnt"), name=unique("shop")))
        proxy.pause()
        with pytest.raises(Exception) as unanswered:
            async with not_hanging():
                await connection.commit()
    assert is_outage(unanswered.value), repr(unanswered.value)
    proxy.resume()
    assert await select_one(engine, "direct") == 1


async def test_a_confirm_whose_verdict_meets_a_frozen_database_leaves_the_payment_as_the_database_has_it(
    frozen: tuple[AsyncEngine, ThreadedTcpProxy],
) -> None:
    engine, proxy = frozen
    toss = FakeGateway(SystemClock())
    deps = dataclasses.replace(
        deps_on(engine, toss, FernetSecretBox([new_key().encode()])),
        reconcile_delays=(timedelta(0), timedelta(seconds=60)),  # due as soon as it is claimed
    )
    tenant, order = unique("tnt"), unique("order")
    payment = await create_payment(
        CreatePayment(tenant, "default", "Blue socks", 15000, order_id=order), deps
    )
    key = toss.pay_in_window(order, 15000)

    def freeze_as_toss_answers(call: GatewayCall) -> None:
        if call.operation == "confirm":
            proxy.pause()  # the claim committed; Toss approves; the verdict finds no answer

    toss.on_call(freeze_as_toss_answers)
    with pytest.raises(Exception) as unanswered:
        async with not_hanging():
            await confirm_payment(ConfirmPayment(tenant, key, order, 15000), deps)
    assert is_outage(unanswered.value), repr(unanswered.value)  # 503 with Retry-After
    assert len(toss.applied_of("confirm")) == 1
    proxy.resume()

    async with deps.uow() as uow:
        found = await uow.payments.get(tenant, payment.id)
    assert found is not None
    assert found.status in (PaymentStatus.IN_PROGRESS, PaymentStatus.DONE), found.status
    if found.status is PaymentStatus.IN_PROGRESS:  # the claim alone: Toss's record settles it
        # (SKIPPED: the verdict held in the frozen connection landed meanwhile.)
        settled_by = await reconcile_payment(payment.id, deps)
        assert settled_by in (ReconcileOutcome.SETTLED, ReconcileOutcome.SKIPPED), settled_by
    async with deps.uow() as uow:
        settled = await uow.payments.get(tenant, payment.id)
    assert settled is not None and settled.status is PaymentStatus.DONE
    async with engine.connect() as connection:
        completed = await connection.scalar(
            select(func.count()).where(
                outbox.c.aggregateid == payment.id, outbox.c.type == "payment.completed"
            )
        )
    assert completed == 1
    assert len(toss.applied_of("confirm")) == 1  # approved once, at Toss as here
