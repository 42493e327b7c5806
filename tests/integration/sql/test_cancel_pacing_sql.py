"""Cancel pacing on real databases (SQLite, PostgreSQL, MariaDB): the PG takes one cancel of a
payment per second (docs/toss.md "Pacing"), and processes with engines of their own keep to it
through `payments.last_cancel_sent_at`, never through memory."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from sunap.adapters.sql.engine import create_engine
from sunap.adapters.sql.tables import payments
from sunap.adapters.sql.unit_of_work import sql_unit_of_work_factory
from sunap.adapters.system import RandomIds, SystemClock
from sunap.adapters.toss.webhooks import TossWebhooks
from sunap.application.cancel_payment import cancel_payment
from sunap.application.cancel_turns import CANCEL_SPACING
from sunap.application.commands import CancelPayment, ConfirmPayment, CreatePayment
from sunap.application.confirm_payment import confirm_payment
from sunap.application.create_payment import create_payment
from sunap.application.deps import Deps
from sunap.application.envelope import EnvelopeFactory
from sunap.domain.errors import ExceedsBalance, NotCancelableStatus
from sunap.domain.payment import Payment, PaymentStatus
from tests.fakes.accounts import OneGatewayAccounts
from tests.fakes.clock import FakeClock
from tests.fakes.gateway import FakeGateway
from tests.support.databases import unique

PROCESSES = 3
DepsFor = Callable[[], Deps]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC))


@pytest.fixture
def toss(clock: FakeClock) -> FakeGateway:
    return FakeGateway(clock)


@pytest.fixture
async def processes(
    fresh_database_url: str, clock: FakeClock, toss: FakeGateway
) -> AsyncIterator[DepsFor]:
    """Deps with an engine of their own on each call, on the real clock (the waits are real:
    a clock that jumps would blur when each cancel reached the PG); one PG for all."""
    async with AsyncExitStack() as engines:

        def new_process() -> Deps:
            engine = create_engine(fresh_database_url)
            engines.push_async_callback(engine.dispose)
            ids, system_clock = RandomIds(), SystemClock()
            return Deps(
                uow=sql_unit_of_work_factory(engine, EnvelopeFactory(ids, system_clock)),
                accounts=OneGatewayAccounts(toss),
                clock=system_clock,
                ids=ids,
                webhook_format=TossWebhooks(),
            )

        yield new_process


async def paid(deps: Deps, toss: FakeGateway, tenant: str, amount: int) -> Payment:
    order_id = unique("order")
    await create_payment(CreatePayment(tenant, "default", "책", amount, order_id=order_id), deps)
    key = toss.pay_in_window(order_id, amount)
    return await confirm_payment(ConfirmPayment(tenant, key, order_id, amount), deps)


async def test_one_turn_at_a_time_freed_a_spacing_later_and_never_bumping_the_version(
    processes: DepsFor, toss: FakeGateway, clock: FakeClock, fresh_database_url: str
) -> None:
    deps = processes()
    tenant = unique("tnt")
    payment = await paid(deps, toss, tenant, 5000)
    now = datetime.now(UTC)
    hold = now + timedelta(seconds=90)

    async def claim(at: datetime, tenant_id: str = tenant) -> datetime | None:
        async with deps.uow() as uow:
            free_at = await uow.payments.claim_cancel_turn(
                tenant_id, payment.id, at, at + timedelta(seconds=90)
            )
            await uow.commit()
        return free_at

    async def end(held_until: datetime, next_at: datetime) -> None:
        async with deps.uow() as uow:
            await uow.payments.end_cancel_turn(tenant, payment.id, held_until, next_at)
            await uow.commit()

    assert await claim(now) is None
    assert await claim(now + timedelta(seconds=5)) == hold  # in flight: held
    # Another tenant's request neither takes the turn nor learns anything about the payment.
    assert await claim(now + timedelta(seconds=500), tenant_id=unique("tnt")) is None
    await end(now + timedelta(seconds=1), now + timedelta(seconds=2))  # not our hold: no effect
    assert await claim(now + timedelta(seconds=5)) == hold
    await end(hold, now + CANCEL_SPACING)
    assert await claim(now + timedelta(seconds=1)) == now + CANCEL_SPACING
    assert await claim(now + CANCEL_SPACING) is None

    engine = create_engine(fresh_database_url)
    try:
        async with engine.connect() as connection:
            row = (
                await connection.execute(
                    select(payments.c.version, payments.c.next_cancel_at).where(
                        payments.c.id == payment.id
                    )
                )
            ).one()
    finally:
        await engine.dispose()
    assert row.version == payment.version
    assert row.next_cancel_at == now + CANCEL_SPACING + timedelta(seconds=90)


async def test_concurrent_partial_cancels_from_three_processes_reach_the_pg_a_second_apart(
    processes: DepsFor, toss: FakeGateway
) -> None:
    # Few cancels, because the waits are real (the 20-cancel case runs end to end, in e2e/).
    apis = [processes() for _ in range(PROCESSES)]
    tenant = unique("tnt")
    payment = await paid(apis[0], toss, tenant, 9000)
    sent: list[float] = []
    toss.on_call(lambda call: sent.append(time.monotonic()) if call.operation == "cancel" else None)

    results = await asyncio.gather(
        *(
            cancel_payment(
                CancelPayment(tenant_id=tenant, payment_id=payment.id, reason="r", amount=3000),
                apis[n % PROCESSES],
            )
            for n in range(4)
        ),
        return_exceptions=True,
    )

    succeeded = [r for r in results if isinstance(r, Payment)]
    refused = [r for r in results if isinstance(r, ExceedsBalance | NotCancelableStatus)]
    assert (len(succeeded), len(refused)) == (3, 1), results
    assert len(sent) == 3
    # Claimed 1.1 s apart; each then reached the PG within milliseconds: Toss's second holds.
    assert min(b - a for a, b in itertools.pairwise(sent)) >= 1.0
    assert toss.payment(payment.payment_key or "").balance_amount == 0
    final = max(succeeded, key=lambda p: p.version)
    assert (final.status, final.balance_amount) == (PaymentStatus.CANCELED, 0)
