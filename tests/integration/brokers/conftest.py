"""One kit per real broker on this machine, so the contract suite reads the same for all three.

Every kit isolates its test with a unique topic prefix (and exchange/groups) and deletes what the
test created. A broker that is down fails the test with a clear message: these tests never skip.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import nats
import nats.js.errors
import pytest
import redis.asyncio as redis
from nats.js.api import ConsumerConfig, DeliverPolicy, StreamConfig, StreamSource

from sunap.adapters.brokers import jetstream, rabbitmq
from sunap.adapters.brokers.jetstream import NatsPublisher, NatsSubscriber
from sunap.adapters.brokers.rabbitmq import RabbitMqPublisher, RabbitMqSubscriber
from sunap.adapters.brokers.redis_streams import RedisStreamsPublisher, RedisStreamsSubscriber
from tests.integration.brokers.tcp_proxy import TcpProxy

HOST = "127.0.0.1"
PORTS = {"rabbitmq": 5672, "nats": 4222, "redis": 6379}
PATIENCE = 20.0  # seconds before a test that waits for deliveries gives up instead of hanging


@dataclass(frozen=True)
class RawMessage:
    """A message as a plain client of the broker sees it."""

    topic: str
    event_id: str | None
    body: bytes
    persistent: bool | None = None  # RabbitMQ's delivery mode 2; other brokers always store


def free_port() -> int:
    """A port nothing listens on (bound once, then released)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def require_reachable(name: str, port: int) -> None:
    try:
        socket.create_connection((HOST, port), timeout=2).close()
    except OSError as exc:
        pytest.fail(
            f"{name} is not reachable at {HOST}:{port} ({exc}); start it — broker tests never skip",
            pytrace=False,
        )


@dataclass
class BrokerKit:
    """What a contract test needs from one broker: its adapters, set up for speed and isolation,
    an independent reader, a view of unsettled messages, and cleanup."""

    name: str
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    closables: list[Any] = field(default_factory=list)
    topics: set[str] = field(default_factory=set)
    groups: set[str] = field(default_factory=set)
    streams: set[str] = field(default_factory=set)  # NATS streams a test made besides Sunap's

    @property
    def prefix(self) -> str:
        return f"t{self.run_id}."

    @property
    def port(self) -> int:
        return PORTS[self.name]

    def topic(self, name: str = "payment.completed") -> str:
        topic = f"{self.prefix}{name}"
        self.topics.add(topic)
        return topic

    def group(self, name: str = "orders") -> str:
        group = f"{name}-{self.run_id}"
        self.groups.add(group)
        return group

    def url(self, port: int | None = None) -> str:
        raise NotImplementedError

    def _publisher(self, url: str) -> Any:
        raise NotImplementedError

    def _subscriber(self, url: str) -> Any:
        raise NotImplementedError

    def publisher(self, port: int | None = None) -> Any:
        publisher = self._publisher(self.url(port))
        self.closables.append(publisher)
        return publisher

    def subscriber(self, port: int | None = None) -> Any:
        subscriber = self._subscriber(self.url(port))
        self.closables.append(subscriber)
        return subscriber

    async def read_raw(self, topic: str, count: int) -> list[RawMessage]:
        raise NotImplementedError

    async def open_raw_reader(self, topic: str) -> None:
        """Make sure messages published from now on are kept for `read_raw`."""

    async def unsettled(self, topic: str, group: str) -> int:
        """Messages of the group neither acknowledged nor (for queues) still waiting."""
        raise NotImplementedError

    async def consumers_waiting(self, topic: str, group: str, count: int) -> bool:
        """Whether `count` subscribers of the group are attached and asking for messages."""
        raise NotImplementedError

    async def cleanup(self) -> None:
        raise NotImplementedError


class RabbitMqKit(BrokerKit):
    @property
    def exchange(self) -> str:
        return f"sunap-test-{self.run_id}"

    def url(self, port: int | None = None) -> str:
        return f"amqp://guest:guest@{HOST}:{port or self.port}/"

    def _publisher(self, url: str) -> RabbitMqPublisher:
        return RabbitMqPublisher(url, exchange=self.exchange, timeout=3.0)

    def _subscriber(self, url: str) -> RabbitMqSubscriber:
        return RabbitMqSubscriber(
            url,
            exchange=self.exchange,
            retry_delay=0.05,
            reconnect_delay=0.1,
            max_reconnect_delay=0.4,
            timeout=3.0,
        )

    @contextlib.asynccontextmanager
    async def _channel(self) -> AsyncIterator[aio_pika.abc.AbstractChannel]:
        connection = await aio_pika.connect(self.url())
        async with connection:
            yield await connection.channel()

    async def open_raw_reader(self, topic: str) -> None:
        await RabbitMqSubscriber(self.url(), exchange=self.exchange).prepare(
            topic, self.group("raw")
        )

    async def read_raw(self, topic: str, count: int) -> list[RawMessage]:
        read: list[RawMessage] = []
        async with self._channel() as channel:
            queue = await channel.get_queue(rabbitmq.queue_name(self.group("raw"), topic))
            async with asyncio.timeout(PATIENCE):
                while len(read) < count:
                    message = await queue.get(fail=False)
                    if message is None:
                        await asyncio.sleep(0.02)
                        continue
                    persistent = message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
                    read.append(
                        RawMessage(
                            message.routing_key or "", message.message_id, message.body, persistent
                        )
                    )
                    await message.ack()
        return read

    async def unsettled(self, topic: str, group: str) -> int:
        async with self._channel() as channel:
            queue = await channel.declare_queue(rabbitmq.queue_name(group, topic), passive=True)
            return int(queue.declaration_result.message_count or 0)

    async def consumers_waiting(self, topic: str, group: str, count: int) -> bool:
        async with self._channel() as channel:
            queue = await channel.declare_queue(rabbitmq.queue_name(group, topic), passive=True)
            return int(queue.declaration_result.consumer_count or 0) >= count

    async def cleanup(self) -> None:
        async with self._channel() as channel:
            for group in self.groups:
                for topic in self.topics:
                    await channel.queue_delete(rabbitmq.queue_name(group, topic))
            await channel.exchange_delete(self.exchange)


class NatsKit(BrokerKit):
    def url(self, port: int | None = None) -> str:
        return f"nats://{HOST}:{port or self.port}"

    def _publisher(self, url: str) -> NatsPublisher:
        return NatsPublisher(url, topic_prefix=self.prefix, timeout=3.0)

    def _subscriber(self, url: str) -> NatsSubscriber:
        return NatsSubscriber(
            url,
            topic_prefix=self.prefix,
            fetch_wait=0.2,
            retry_delay=0.05,
            # A message handed to a connection that just died waits ack_wait to come back.
            ack_wait=2.0,
            reconnect_delay=0.1,
            max_reconnect_delay=0.4,
            timeout=3.0,
        )

    @contextlib.asynccontextmanager
    async def _jetstream(self) -> AsyncIterator[Any]:
        client = await nats.connect(self.url(), allow_reconnect=False)
        try:
            yield client.jetstream()
        finally:
            await client.close()

    async def read_raw(self, topic: str, count: int) -> list[RawMessage]:
        read: list[RawMessage] = []
        async with self._jetstream() as js:
            subscription = await js.pull_subscribe(
                topic,
                stream=jetstream.stream_name(self.prefix),
                config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
            )
            async with asyncio.timeout(PATIENCE):
                while len(read) < count:
                    with contextlib.suppress(nats.errors.TimeoutError):
                        for message in await subscription.fetch(count - len(read), timeout=0.5):
                            event_id = (message.headers or {}).get(jetstream.MSG_ID)
                            read.append(RawMessage(message.subject, event_id, message.data))
                            await message.ack()
            await subscription.unsubscribe()
        return read

    async def stored(self, stream: str | None = None) -> int:
        async with self._jetstream() as js:
            info = await js.stream_info(stream or jetstream.stream_name(self.prefix))
            return int(info.state.messages)

    async def add_stream(self, name: str, subjects: list[str]) -> None:
        """A stream of the merchant's (deleted by cleanup)."""
        self.streams.add(name)
        async with self._jetstream() as js:
            await js.add_stream(name=name, subjects=subjects)

    async def add_mirror(self, name: str, source: str) -> None:
        self.streams.add(name)
        async with self._jetstream() as js:
            await js.add_stream(StreamConfig(name=name, mirror=StreamSource(name=source)))

    async def subjects(self, stream: str) -> list[str]:
        async with self._jetstream() as js:
            return list((await js.stream_info(stream)).config.subjects or [])

    async def has_stream(self, stream: str) -> bool:
        async with self._jetstream() as js:
            try:
                await js.stream_info(stream)
            except nats.js.errors.NotFoundError:
                return False
            return True

    async def unsettled(self, topic: str, group: str) -> int:
        async with self._jetstream() as js:
            info = await js.consumer_info(
                jetstream.stream_name(self.prefix), jetstream.durable_name(group, topic)
            )
            return int(info.num_ack_pending or 0) + int(info.num_pending or 0)

    async def consumers_waiting(self, topic: str, group: str, count: int) -> bool:
        async with self._jetstream() as js:
            info = await js.consumer_info(
                jetstream.stream_name(self.prefix), jetstream.durable_name(group, topic)
            )
            return int(info.num_waiting or 0) >= count

    async def cleanup(self) -> None:
        async with self._jetstream() as js:
            # The mirror before its source.
            for stream in [jetstream.stream_name(self.prefix), *sorted(self.streams)]:
                with contextlib.suppress(nats.js.errors.NotFoundError):
                    await js.delete_stream(stream)


class RedisKit(BrokerKit):
    def url(self, port: int | None = None) -> str:
        return f"redis://{HOST}:{port or self.port}/0"

    def _publisher(self, url: str) -> RedisStreamsPublisher:
        return RedisStreamsPublisher(url, timeout=3.0)

    def _subscriber(self, url: str) -> RedisStreamsSubscriber:
        # reclaim_after must outlast a slow turn of a busy machine, or a live consumer's entry
        # is claimed by another one (at-least-once allows it; the shared-work test does not).
        return RedisStreamsSubscriber(
            url,
            block=0.2,
            reclaim_after=1.0,
            reconnect_delay=0.1,
            max_reconnect_delay=0.4,
            timeout=3.0,
        )

    @contextlib.asynccontextmanager
    async def _redis(self) -> AsyncIterator[redis.Redis]:
        client = redis.Redis.from_url(self.url())
        try:
            yield client
        finally:
            await client.aclose()

    async def read_raw(self, topic: str, count: int) -> list[RawMessage]:
        async with self._redis() as client, asyncio.timeout(PATIENCE):
            while len(entries := await client.xrange(topic)) < count:
                await asyncio.sleep(0.02)
        return [
            RawMessage(topic, fields[b"id"].decode(), fields[b"event"]) for _id, fields in entries
        ]

    async def fields(self, topic: str) -> list[dict[bytes, bytes]]:
        async with self._redis() as client:
            return [fields for _id, fields in await client.xrange(topic)]

    async def unsettled(self, topic: str, group: str) -> int:
        async with self._redis() as client:
            summary = await client.xpending(topic, group)
            return int(summary["pending"])

    async def consumers_waiting(self, topic: str, group: str, count: int) -> bool:
        async with self._redis() as client:
            return len(await client.xinfo_consumers(topic, group)) >= count

    async def cleanup(self) -> None:
        async with self._redis() as client:
            keys = [key async for key in client.scan_iter(match=f"{self.prefix}*")]
            if keys:
                await client.delete(*keys)


KITS = {"rabbitmq": RabbitMqKit, "nats": NatsKit, "redis": RedisKit}


@contextlib.asynccontextmanager
async def open_kit(name: str) -> AsyncIterator[Any]:
    require_reachable(name, PORTS[name])
    kit = KITS[name](name)
    try:
        yield kit
    finally:
        for closable in reversed(kit.closables):
            await closable.close()
        await kit.cleanup()


@pytest.fixture(params=sorted(KITS))
async def kit(request: pytest.FixtureRequest) -> AsyncIterator[BrokerKit]:
    async with open_kit(request.param) as kit:
        yield kit


@pytest.fixture
async def rabbitmq_kit() -> AsyncIterator[RabbitMqKit]:
    async with open_kit("rabbitmq") as kit:
        yield kit


@pytest.fixture
async def nats_kit() -> AsyncIterator[NatsKit]:
    async with open_kit("nats") as kit:
        yield kit


@pytest.fixture
async def redis_kit() -> AsyncIterator[RedisKit]:
    async with open_kit("redis") as kit:
        yield kit


@pytest.fixture
async def proxy(kit: BrokerKit) -> AsyncIterator[TcpProxy]:
    proxy = TcpProxy(kit.port)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()


@pytest.fixture
def unused_port() -> int:
    return free_port()
