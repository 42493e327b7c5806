"""The relay under faults: killed after the broker acknowledged, cancelled mid-batch, and a broker
that dies and comes back. Each time every event still arrives, in order per payment."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.sql.outbox import SqlOutboxStore
from sunap.adapters.system import SystemClock
from sunap.application.ports.messaging import EventPublisher, OutboundMessage
from sunap.entrypoints.metrics import Metrics
from sunap.entrypoints.workers.relay import OutboxRelay
from tests.integration.outbox.broker_readers import (
    RabbitMqReader,
    RedisReader,
    assert_redis_order_per_payment,
)
from tests.integration.outbox.event_log import Delivery
from tests.integration.outbox.redis_process import redis_process
from tests.integration.outbox.relays import (
    PATIENCE,
    POLL_SECONDS,
    eventually,
    outbox_drained,
    running_relays,
)
from tests.integration.outbox.workload import Workload, run_workload, stored_events

WORKLOAD = Workload(payments=60, cancels=4)
CONCURRENCY = {"sqlite": 4}
# Every backend: on SQLite the relays take turns through a lock file and hold no transaction
# while the broker answers (adapters/sql/relay_turns.py), so a relay that dies between the ack
# and the mark must leave its batch to the next one there too.


def sample(metrics: Metrics, name: str) -> float:
    return metrics.registry.get_sample_value(name) or 0.0


class RelayKilled(Exception):
    """Stands for the process dying: nothing after it runs."""


class DiesAfterTheAck:
    """Publishes for real, then dies before the relay can mark the batch: every `every`-th one."""

    def __init__(self, publisher: EventPublisher, every: int) -> None:
        self._publisher = publisher
        self._every = every
        self.batches = self.deaths = 0

    async def start(self) -> None:
        await self._publisher.start()

    async def publish(self, messages: Sequence[OutboundMessage]) -> None:
        await self._publisher.publish(messages)
        self.batches += 1
        if self.batches % self._every == 0:
            self.deaths += 1
            raise RelayKilled("killed after the broker acknowledged")

    async def close(self) -> None:
        await self._publisher.close()


class LingersAfterTheAck:
    """Publishes for real, then lingers before the relay can mark the batch, flagging the window
    in which a dying relay leaves a published batch unmarked."""

    def __init__(self, publisher: EventPublisher) -> None:
        self._publisher = publisher
        self.acked = asyncio.Event()

    async def start(self) -> None:
        await self._publisher.start()

    async def publish(self, messages: Sequence[OutboundMessage]) -> None:
        await self._publisher.publish(messages)
        self.acked.set()
        try:
            await asyncio.sleep(0.05)
        finally:
            self.acked.clear()

    async def close(self) -> None:
        await self._publisher.close()


async def test_a_batch_the_broker_acknowledged_but_the_relay_never_marked_is_published_again(
    backend: str, fresh_engine: AsyncEngine
) -> None:
    reader = RabbitMqReader()
    await reader.open()
    dying = [DiesAfterTheAck(reader.publisher(), every=3) for _ in range(2)]
    try:
        async with running_relays(
            fresh_engine, list(dying), Metrics(), topic_prefix=reader.prefix, batch_size=20
        ):
            ids = await run_workload(
                fresh_engine, WORKLOAD, concurrency=CONCURRENCY.get(backend, 16)
            )
            await outbox_drained(fresh_engine)
        delivery = Delivery(await reader.read_all())
    finally:
        await reader.close()

    assert sum(d.deaths for d in dying) > 0
    assert delivery.duplicates > 0  # the batches that died were sent twice
    delivery.assert_complete(await stored_events(fresh_engine, ids))
    delivery.assert_in_order_per_payment()


async def test_a_relay_cancelled_between_the_ack_and_the_mark_loses_and_reorders_nothing(
    backend: str, fresh_engine: AsyncEngine
) -> None:
    reader = RabbitMqReader()
    await reader.open()
    metrics = Metrics()
    victim = LingersAfterTheAck(reader.publisher())
    relay = OutboxRelay(
        SqlOutboxStore(fresh_engine),
        victim,
        SystemClock(),
        metrics,
        topic_prefix=reader.prefix,
        batch_size=20,
    )
    stop = asyncio.Event()
    kills = 0
    try:
        await victim.start()
        work = asyncio.create_task(
            run_workload(fresh_engine, WORKLOAD, concurrency=CONCURRENCY.get(backend, 16))
        )
        while kills < 8:
            task = asyncio.create_task(relay.worker(POLL_SECONDS).run(metrics, stop))
            async with asyncio.timeout(PATIENCE):
                await victim.acked.wait()
            task.cancel()  # the process dies after the broker's ack, before the mark
            await asyncio.gather(task, return_exceptions=True)
            kills += 1
        # The victim comes back beside two more relays, as restarted `sunap worker`s would.
        task = asyncio.create_task(relay.worker(POLL_SECONDS).run(metrics, stop))
        async with running_relays(
            fresh_engine,
            [reader.publisher(), reader.publisher()],
            metrics,
            topic_prefix=reader.prefix,
        ):
            ids = await work
            await outbox_drained(fresh_engine)
        stop.set()
        await task
        await victim.close()
        delivery = Delivery(await reader.read_all())
    finally:
        await reader.close()

    assert delivery.duplicates >= kills  # every killed batch was sent again
    delivery.assert_complete(await stored_events(fresh_engine, ids))
    delivery.assert_in_order_per_payment()


async def test_a_broker_killed_and_restarted_mid_run_loses_nothing(
    backend: str, fresh_engine: AsyncEngine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sunap.relay")
    metrics = Metrics()
    with redis_process(tmp_path) as server:
        reader = RedisReader(url=server.url)
        async with running_relays(
            fresh_engine,
            [reader.publisher(), reader.publisher()],
            metrics,
            topic_prefix=reader.prefix,
            batch_size=20,
        ):
            work = asyncio.create_task(
                run_workload(fresh_engine, WORKLOAD, concurrency=CONCURRENCY.get(backend, 16))
            )
            await eventually(lambda: sample(metrics, "sunap_outbox_published_total") >= 40)
            server.kill()
            await eventually(lambda: sample(metrics, "sunap_relay_errors_total") >= 3)
            await asyncio.to_thread(server.start)
            ids = await work  # payments kept changing while the broker was away
            await outbox_drained(fresh_engine)
        entries = await reader.entries()
        await reader.close()

    delivery = Delivery([event for _millis, event in entries])
    delivery.assert_complete(await stored_events(fresh_engine, ids))
    delivery.assert_in_order_per_payment_and_topic()
    assert_redis_order_per_payment(entries)
    assert any("publishing" in r.message and "failed" in r.message for r in caplog.records)
    assert any("publishing again after" in r.message for r in caplog.records)
