"""Two relays on one database and one real broker, while hundreds of payments change state: every
event arrives at least once, each payment's events in commit order, nothing stays unpublished."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.sql.outbox import SqlOutboxStore
from sunap.adapters.system import SystemClock
from sunap.entrypoints.metrics import Metrics
from sunap.entrypoints.workers.relay import OutboxRelay
from tests.integration.outbox.broker_readers import (
    READERS,
    RedisReader,
    assert_redis_order_per_payment,
)
from tests.integration.outbox.event_log import Delivery
from tests.integration.outbox.relays import outbox_drained, running_relays
from tests.integration.outbox.workload import Workload, run_workload, stored_events

# 2,000 state changes over 200 payments, once per server database; every other pairing of a
# database and a broker runs a smaller mix, to keep the suite quick.
FULL = Workload(payments=200, cancels=8)
SMALL = Workload(payments=40, cancels=3)
FULL_SIZE_BROKER = {"postgresql": "nats", "mariadb": "rabbitmq"}
# SQLite has one writer at a time: more concurrent writers would only queue for the lock.
CONCURRENCY = {"sqlite": 4}


@pytest.mark.parametrize("broker", sorted(READERS))
async def test_two_relays_publish_every_event_in_order_per_payment(
    backend: str, fresh_engine: AsyncEngine, broker: str
) -> None:
    workload = FULL if FULL_SIZE_BROKER.get(backend) == broker else SMALL
    reader = READERS[broker]()
    await reader.open()
    metrics = Metrics()
    try:
        async with running_relays(
            fresh_engine,
            [reader.publisher(), reader.publisher()],
            metrics,
            topic_prefix=reader.prefix,
        ):
            # The relays publish while the payments are still changing.
            payment_ids = await run_workload(
                fresh_engine, workload, concurrency=CONCURRENCY.get(backend, 16)
            )
            await outbox_drained(fresh_engine)
        stored = await stored_events(fresh_engine, payment_ids)
        delivery = Delivery(await reader.read_all())
        if isinstance(reader, RedisReader):
            assert_redis_order_per_payment(await reader.entries())
    finally:
        await reader.close()

    assert len(stored) == workload.events
    delivery.assert_complete(stored)
    if broker == "redis":
        delivery.assert_in_order_per_payment_and_topic()
    else:
        delivery.assert_in_order_per_payment()
    assert (
        metrics.registry.get_sample_value("sunap_outbox_published_total") or 0
    ) >= workload.events
    assert metrics.registry.get_sample_value("sunap_outbox_unpublished") == 0


async def test_an_empty_outbox_reports_no_lag(fresh_engine: AsyncEngine) -> None:
    reader = READERS["redis"]()
    metrics = Metrics()
    async with running_relays(
        fresh_engine, [reader.publisher()], metrics, topic_prefix=reader.prefix
    ):
        await asyncio.sleep(0.1)
    assert metrics.registry.get_sample_value("sunap_outbox_unpublished") == 0
    assert metrics.registry.get_sample_value("sunap_outbox_oldest_unpublished_age_seconds") == 0


async def test_a_relay_behind_a_backlog_reports_its_size_while_it_works(
    fresh_engine: AsyncEngine,
) -> None:
    reader = READERS["redis"]()
    publisher = reader.publisher()
    metrics = Metrics()
    relay = OutboxRelay(
        SqlOutboxStore(fresh_engine),
        publisher,
        SystemClock(),
        metrics,
        topic_prefix=reader.prefix,
        batch_size=5,
        lag_every_seconds=3600,
    )
    await run_workload(fresh_engine, Workload(payments=10, cancels=3), concurrency=4)
    try:
        assert await relay.publish_batch() == 5
    finally:
        await publisher.close()
        await reader.close()

    assert metrics.registry.get_sample_value("sunap_outbox_unpublished") == 45
    assert (
        metrics.registry.get_sample_value("sunap_outbox_oldest_unpublished_age_seconds") or 0
    ) > 0
    assert metrics.registry.get_sample_value("sunap_outbox_published_total") == 5
