"""A broker that accepts the relay's connection and never answers (RabbitMQ blocked by a memory
alarm, a frozen Redis, packets dropped on the way) holds the relay until its publish times out.
Payments must go on meanwhile: on SQLite the relay used to wait inside the write transaction
that every API write needs, and each attempt stopped every write until the timeout."""

from __future__ import annotations

import asyncio
import contextlib

from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.brokers.redis_streams import RedisStreamsPublisher
from sunap.adapters.sql.outbox import SqlOutboxStore
from sunap.adapters.system import SystemClock
from sunap.entrypoints.metrics import Metrics
from sunap.entrypoints.workers.relay import OutboxRelay
from tests.integration.outbox.broker_readers import RedisReader, assert_redis_order_per_payment
from tests.integration.outbox.event_log import Delivery
from tests.integration.outbox.relays import PATIENCE, outbox_drained, running_relays
from tests.integration.outbox.workload import live, stored_events, unit_of_work_factory
from tests.support.databases import unique

# Long enough that a write held behind the relay's attempt still finds it pending; short of
# SQLite's busy timeout (30 s), so such a write ends, and the test fails on its assertion.
PUBLISH_TIMEOUT = 20.0


class SilentBroker:
    """Accepts connections and reads whatever is sent; never answers a byte."""

    def __init__(self) -> None:
        self.heard = asyncio.Event()  # a publish (or its connection's hello) reached us
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._swallow, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in self._writers:
            writer.close()

    async def _swallow(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        with contextlib.suppress(ConnectionError, OSError):
            while await reader.read(65536):
                self.heard.set()


async def test_payments_change_while_the_relay_waits_on_a_broker_that_never_answers(
    fresh_engine: AsyncEngine,
) -> None:
    uow = unit_of_work_factory(fresh_engine)
    tenant = unique("tnt")
    before = await live(uow, tenant, cancels=1)  # created, completed, canceled: waiting
    silent = SilentBroker()
    await silent.start()
    stuck = RedisStreamsPublisher(silent.url, timeout=PUBLISH_TIMEOUT)
    relay = OutboxRelay(
        SqlOutboxStore(fresh_engine), stuck, SystemClock(), Metrics(), topic_prefix="t."
    )
    publishing = asyncio.create_task(relay.publish_batch())
    try:
        async with asyncio.timeout(PATIENCE):
            await silent.heard.wait()
        # Three writes, each a transaction with its audit row and outbox event, as the API's
        # create, confirm and cancel make them.
        during = await live(uow, tenant, cancels=1)
        assert not publishing.done(), "the writes waited for the relay's publish to give up"
    finally:
        publishing.cancel()  # the process dies mid-publish, nothing acknowledged
        await asyncio.gather(publishing, return_exceptions=True)
        await stuck.close()
        await silent.stop()

    # Nothing the silent broker swallowed counts as published: a relay on a broker that answers
    # sends all of it, each payment's events in order.
    stored = await stored_events(fresh_engine, [before, during])
    assert (await SqlOutboxStore(fresh_engine).lag(SystemClock().now()))[0] == len(stored) == 6
    reader = RedisReader()
    try:
        async with running_relays(
            fresh_engine,
            [reader.publisher(), reader.publisher()],
            Metrics(),
            topic_prefix=reader.prefix,
        ):
            await outbox_drained(fresh_engine)
        entries = await reader.entries()
    finally:
        await reader.close()
    delivery = Delivery([event for _millis, event in entries])
    delivery.assert_complete(stored)
    delivery.assert_in_order_per_payment_and_topic()
    assert_redis_order_per_payment(entries)
