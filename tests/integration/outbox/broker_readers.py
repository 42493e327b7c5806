"""Independent readers of what the relay published, one per broker, using the brokers' own clients
(not our subscribers). Each reads a run's unique topic prefix and removes what it created."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

import aio_pika
import nats
import nats.errors
import nats.js.errors
import redis.asyncio as redis
from nats.js.api import ConsumerConfig, DeliverPolicy

from sunap.adapters.brokers import jetstream
from sunap.adapters.brokers.jetstream import NatsPublisher
from sunap.adapters.brokers.rabbitmq import RabbitMqPublisher
from sunap.adapters.brokers.redis_streams import RedisStreamsPublisher
from sunap.application.ports.messaging import EventPublisher
from tests.integration.outbox.event_log import ReceivedEvent, received_from

HOST = "127.0.0.1"
NATS_URL = f"nats://{HOST}:4222"
RABBITMQ_URL = f"amqp://guest:guest@{HOST}:5672/"
REDIS_URL = f"redis://{HOST}:6379/0"
PATIENCE = 30.0  # seconds before a read gives up instead of hanging


def run_prefix() -> str:
    """A topic prefix of this test run alone."""
    return f"t{uuid.uuid4().hex[:12]}."


@dataclass
class NatsReader:
    """Reads the prefix's JetStream stream in stream order, which is publish order."""

    prefix: str = field(default_factory=run_prefix)
    url: str = NATS_URL

    def publisher(self) -> EventPublisher:
        return NatsPublisher(self.url, topic_prefix=self.prefix, timeout=3.0)

    async def open(self) -> None:
        return None

    async def read_all(self) -> list[ReceivedEvent]:
        client = await nats.connect(self.url, allow_reconnect=False)
        try:
            js = client.jetstream()
            stream = jetstream.stream_name(self.prefix)
            stored = (await js.stream_info(stream)).state.messages
            subscription = await js.pull_subscribe(
                f"{self.prefix}>",
                stream=stream,
                config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
            )
            read: list[ReceivedEvent] = []
            async with asyncio.timeout(PATIENCE):
                while len(read) < stored:
                    with contextlib.suppress(nats.errors.TimeoutError):
                        for message in await subscription.fetch(500, timeout=0.5):
                            event_id = (message.headers or {}).get(jetstream.MSG_ID)
                            read.append(received_from(message.subject, event_id, message.data))
                            await message.ack()
            await subscription.unsubscribe()
            return read
        finally:
            await client.close()

    async def close(self) -> None:
        client = await nats.connect(self.url, allow_reconnect=False)
        try:
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await client.jetstream().delete_stream(jetstream.stream_name(self.prefix))
        finally:
            await client.close()


@dataclass
class RabbitMqReader:
    """One queue bound to every topic of the prefix on a test exchange: it keeps the order in
    which RabbitMQ routed the messages."""

    prefix: str = field(default_factory=run_prefix)
    url: str = RABBITMQ_URL
    _connection: aio_pika.abc.AbstractConnection | None = None
    _queue: aio_pika.abc.AbstractQueue | None = None

    @property
    def exchange(self) -> str:
        return f"sunap-test-{self.prefix.strip('.')}"

    def publisher(self) -> EventPublisher:
        return RabbitMqPublisher(self.url, exchange=self.exchange, timeout=3.0)

    async def open(self) -> None:
        """Bind the queue before anything is published: RabbitMQ drops unrouted messages."""
        self._connection = await aio_pika.connect(self.url)
        channel = await self._connection.channel()
        exchange = await channel.declare_exchange(
            self.exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        self._queue = await channel.declare_queue(exclusive=True)
        await self._queue.bind(exchange, routing_key=f"{self.prefix}#")

    async def read_all(self) -> list[ReceivedEvent]:
        assert self._queue is not None, "open() first"
        read: list[ReceivedEvent] = []
        while (message := await self._queue.get(fail=False)) is not None:
            read.append(received_from(message.routing_key or "", message.message_id, message.body))
            await message.ack()
        return read

    async def close(self) -> None:
        if self._connection is None:
            return
        channel = await self._connection.channel()
        await channel.exchange_delete(self.exchange)
        await self._connection.close()


@dataclass
class RedisReader:
    """Reads every stream of the prefix. Streams are separate logs, so order across them is known
    only to the millisecond of each entry's id."""

    prefix: str = field(default_factory=run_prefix)
    url: str = REDIS_URL

    def publisher(self) -> EventPublisher:
        return RedisStreamsPublisher(self.url, timeout=2.0)

    async def open(self) -> None:
        return None

    async def entries(self) -> list[tuple[int, ReceivedEvent]]:
        """(millisecond of the entry id, event) for every entry, stream after stream, each in
        its own order."""
        client = redis.Redis.from_url(self.url)
        try:
            found = []
            async for key in client.scan_iter(match=f"{self.prefix}*"):
                for entry_id, fields in await client.xrange(key):
                    millis = int(entry_id.split(b"-")[0])
                    event = received_from(key.decode(), fields[b"id"].decode(), fields[b"event"])
                    found.append((millis, event))
            return found
        finally:
            await client.aclose()

    async def read_all(self) -> list[ReceivedEvent]:
        return [event for _millis, event in await self.entries()]

    async def close(self) -> None:
        client = redis.Redis.from_url(self.url)
        try:
            keys = [key async for key in client.scan_iter(match=f"{self.prefix}*")]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()


def assert_redis_order_per_payment(entries: list[tuple[int, ReceivedEvent]]) -> None:
    """Every copy of a payment's event n was stored no later than any copy of its event n+1."""
    times: dict[tuple[str, int], list[int]] = defaultdict(list)
    for millis, event in entries:
        times[(event.payment_id, event.sequence)].append(millis)
    for (payment_id, sequence), stamps in times.items():
        following = times.get((payment_id, sequence + 1))
        if following:
            assert max(stamps) <= min(following), (
                f"payment {payment_id}: event {sequence + 1} stored before event {sequence}"
            )


BrokerReader = NatsReader | RabbitMqReader | RedisReader
READERS: dict[str, type[BrokerReader]] = {
    "nats": NatsReader,
    "rabbitmq": RabbitMqReader,
    "redis": RedisReader,
}
