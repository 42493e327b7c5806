"""The order consumer on real brokers: two consumers of one group (two Sunap processes) receive
an order many times over, with a malformed event among them, and make one payment per order."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aio_pika
import nats
import nats.js.errors
import pytest
import redis.asyncio as redis
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.brokers import jetstream, rabbitmq
from sunap.adapters.brokers.jetstream import NatsPublisher, NatsSubscriber
from sunap.adapters.brokers.rabbitmq import RabbitMqPublisher, RabbitMqSubscriber
from sunap.adapters.brokers.redis_streams import RedisStreamsPublisher, RedisStreamsSubscriber
from sunap.application.ports.messaging import EventPublisher, MessageSubscriber, OutboundMessage
from sunap.entrypoints.metrics import Metrics
from sunap.entrypoints.workers.order_consumer import (
    GROUP,
    order_consumer_worker,
    order_placed_topic,
)
from tests.integration.orders.order_desk import OrderDesk, open_order_desk

HOST = "127.0.0.1"
PATIENCE = 30.0


@dataclass
class Broker:
    name: str
    prefix: str

    @property
    def topic(self) -> str:
        return order_placed_topic(self.prefix)

    @property
    def exchange(self) -> str:
        return f"sunap-test-{self.prefix.strip('.')}"

    def publisher(self) -> EventPublisher:
        if self.name == "rabbitmq":
            return RabbitMqPublisher(f"amqp://guest:guest@{HOST}:5672/", exchange=self.exchange)
        if self.name == "nats":
            return NatsPublisher(f"nats://{HOST}:4222", topic_prefix=self.prefix)
        return RedisStreamsPublisher(f"redis://{HOST}:6379/0")

    def subscriber(self) -> MessageSubscriber:
        if self.name == "rabbitmq":
            return RabbitMqSubscriber(
                f"amqp://guest:guest@{HOST}:5672/",
                exchange=self.exchange,
                retry_delay=0.05,
                reconnect_delay=0.1,
            )
        if self.name == "nats":
            return NatsSubscriber(
                f"nats://{HOST}:4222",
                topic_prefix=self.prefix,
                fetch_wait=0.2,
                retry_delay=0.05,
                reconnect_delay=0.1,
            )
        return RedisStreamsSubscriber(f"redis://{HOST}:6379/0", block=0.2, reconnect_delay=0.1)

    async def prepare(self) -> None:
        """Make the group's queue or consumer exist before anything is published."""
        subscriber: Any = self.subscriber()
        await subscriber.prepare(self.topic, GROUP)
        await subscriber.close()

    async def cleanup(self) -> None:
        if self.name == "rabbitmq":
            connection = await aio_pika.connect(f"amqp://guest:guest@{HOST}:5672/")
            async with connection:
                channel = await connection.channel()
                await channel.queue_delete(rabbitmq.queue_name(GROUP, self.topic))
                await channel.exchange_delete(self.exchange)
        elif self.name == "nats":
            client = await nats.connect(f"nats://{HOST}:4222", allow_reconnect=False)
            try:
                with contextlib.suppress(nats.js.errors.NotFoundError):
                    await client.jetstream().delete_stream(jetstream.stream_name(self.prefix))
            finally:
                await client.close()
        else:
            client = redis.Redis.from_url(f"redis://{HOST}:6379/0")
            try:
                await client.delete(self.topic)
            finally:
                await client.aclose()


@pytest.fixture(params=["nats", "rabbitmq", "redis"])
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[Broker]:
    broker = Broker(request.param, f"t{uuid.uuid4().hex[:12]}.")
    await broker.prepare()
    try:
        yield broker
    finally:
        await broker.cleanup()


def as_message(topic: str, body: dict[str, Any] | bytes) -> OutboundMessage:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return OutboundMessage(topic=topic, key="orders", event_id=str(uuid.uuid4()), body=raw)


def handled(metrics: list[Metrics]) -> float:
    return sum(
        m.registry.get_sample_value("sunap_orders_consumed_total", {"outcome": outcome}) or 0.0
        for m in metrics
        for outcome in ("created", "duplicate", "rejected")
    )


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"], indirect=True)
async def test_two_consumers_make_one_payment_per_order_however_often_it_arrives(
    engine: AsyncEngine, broker: Broker
) -> None:
    desk: OrderDesk = await open_order_desk(engine)
    first, second = desk.order(), desk.order()
    wrapped = {"specversion": "1.0", "id": "evt-1", "type": "order.placed", "data": second}
    messages = (
        [as_message(broker.topic, first) for _ in range(5)]
        + [as_message(broker.topic, b"{malformed")]
        + [as_message(broker.topic, wrapped) for _ in range(3)]
    )
    # Two Sunap processes: each its own subscriber and metrics, one consumer group.
    metrics = [Metrics(), Metrics()]
    workers = [
        order_consumer_worker(
            broker.subscriber(), broker.topic, desk.deps, desk.tenants, desk.consumed, m
        )
        for m in metrics
    ]
    stop = asyncio.Event()
    running = [asyncio.create_task(w.run(m, stop)) for w, m in zip(workers, metrics, strict=True)]
    publisher = broker.publisher()
    try:
        await publisher.start()
        await publisher.publish(messages)
        async with asyncio.timeout(PATIENCE):
            while handled(metrics) < len(messages):
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.gather(*running)
        await publisher.close()

    assert len(await desk.payments_for(first["orderId"])) == 1
    assert len(await desk.payments_for(second["orderId"])) == 1
    assert await desk.payment_count() == 2
    assert handled(metrics) >= len(messages)  # the malformed one did not block anything
    rejected = sum(
        m.registry.get_sample_value("sunap_orders_consumed_total", {"outcome": "rejected"}) or 0
        for m in metrics
    )
    assert rejected == 1
