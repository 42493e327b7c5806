"""What consumers outside Sunap rely on, per broker (docs/api.md, Events)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

import pytest

from sunap.adapters.brokers import jetstream
from sunap.adapters.brokers.rabbitmq import RabbitMqPublisher
from sunap.adapters.brokers.reachability import broker_state
from sunap.application.errors import PublishFailed
from sunap.application.ports.messaging import InboundMessage, OutboundMessage


def event(topic: str, key: str, event_id: str) -> OutboundMessage:
    return OutboundMessage(topic, key, event_id, json.dumps({"id": event_id}).encode())


async def test_jetstream_keeps_one_copy_of_an_event_published_twice(nats_kit):
    topic = nats_kit.topic()
    publisher = nats_kit.publisher()
    once = event(topic, "pay_1", "evt_once")

    await publisher.publish([once])
    await publisher.publish([once])  # a relay that crashed before marking the batch published

    assert await nats_kit.stored() == 1


async def test_each_redis_entry_carries_the_envelope_the_event_id_and_the_key(redis_kit):
    topic = redis_kit.topic()
    sent = event(topic, "pay_1", "evt_1")

    await redis_kit.publisher().publish([sent])

    assert await redis_kit.fields(topic) == [
        {b"event": sent.body, b"id": b"evt_1", b"key": b"pay_1"}
    ]


async def test_rabbitmq_messages_are_persistent_and_routed_by_topic(rabbitmq_kit):
    topic = rabbitmq_kit.topic()
    await rabbitmq_kit.open_raw_reader(topic)
    sent = event(topic, "pay_1", "evt_1")

    await rabbitmq_kit.publisher().publish([sent])

    [raw] = await rabbitmq_kit.read_raw(topic, 1)
    assert (raw.topic, raw.event_id, raw.body) == (topic, "evt_1", sent.body)
    assert raw.persistent


async def test_rabbitmq_names_the_routing_key_of_an_event_no_queue_takes(rabbitmq_kit, caplog):
    """RabbitMQ drops a message no queue is bound to. Sent mandatory, it comes back: a WARNING
    names the routing key once (not once per event), and the relay goes on, so one topic nobody
    reads holds back no other. A queue bound later gets what is published from then on."""
    caplog.set_level(logging.WARNING, logger="sunap.brokers")
    topic = rabbitmq_kit.topic()
    publisher = rabbitmq_kit.publisher()

    await publisher.publish([event(topic, "pay_1", "evt_unrouted_1")])
    await publisher.publish([event(topic, "pay_1", "evt_unrouted_2")])

    warnings = [r.getMessage() for r in caplog.records if r.name == "sunap.brokers"]
    assert len(warnings) == 1
    assert "evt_unrouted_1" in warnings[0] and f"routing key {topic!r}" in warnings[0]
    await rabbitmq_kit.open_raw_reader(topic)  # the consumer deploys
    await publisher.publish([event(topic, "pay_1", "evt_routed")])
    [raw] = await rabbitmq_kit.read_raw(topic, 1)
    assert raw.event_id == "evt_routed"


async def test_jetstream_publishes_beside_a_merchant_stream_under_the_prefix(nats_kit):
    """A stream of the merchant's on `<prefix>order.placed` made Sunap's stream over `<prefix>>`
    impossible (JetStream refuses overlaps), so nothing was ever published. Sunap's own stream
    now holds only the subjects it needs, and the intake reads order.placed from the merchant's."""
    merchant = f"MERCHANT_{nats_kit.run_id}"
    orders = nats_kit.topic("order.placed")
    await nats_kit.add_stream(merchant, [orders])
    topic = nats_kit.topic()
    publisher = nats_kit.publisher()
    sent = event(topic, "pay_1", "evt_beside")

    await publisher.publish([sent])

    [raw] = await nats_kit.read_raw(topic, 1)
    assert raw.event_id == "evt_beside"
    assert await nats_kit.subjects(jetstream.stream_name(nats_kit.prefix)) == [topic]

    group = nats_kit.group()
    subscriber = nats_kit.subscriber()
    await subscriber.prepare(orders, group)
    order = event(orders, "ord_1", "evt_order")
    await publisher.publish([order])
    received: list[str | None] = []

    async def handle(message: InboundMessage) -> None:
        received.append(message.message_id)

    task = asyncio.create_task(subscriber.run(orders, group, handle))
    try:
        async with asyncio.timeout(20):
            while "evt_order" not in received:
                await asyncio.sleep(0.02)
    finally:
        await subscriber.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert await nats_kit.stored(merchant) == 1


async def test_jetstream_publishes_into_a_merchant_stream_that_captures_the_prefix(nats_kit):
    merchant = f"MERCHANT_{nats_kit.run_id}"
    await nats_kit.add_stream(merchant, [f"{nats_kit.prefix}>"])
    publisher = nats_kit.publisher()

    await publisher.publish([event(nats_kit.topic(), "pay_1", "evt_into")])

    assert await nats_kit.stored(merchant) == 1
    assert not await nats_kit.has_stream(jetstream.stream_name(nats_kit.prefix))


async def test_jetstream_names_what_is_in_the_way_when_it_refuses_sunaps_stream(nats_kit):
    """A stream named as Sunap's that cannot take subjects (a mirror): the publish fails with a
    line naming the stream and the subjects, so the events wait in the outbox."""
    source = f"MERCHANT_{nats_kit.run_id}"
    await nats_kit.add_stream(source, [nats_kit.topic("order.placed")])
    await nats_kit.add_mirror(jetstream.stream_name(nats_kit.prefix), source)
    topic = nats_kit.topic()

    with pytest.raises(PublishFailed) as failed:
        await nats_kit.publisher().publish([event(topic, "pay_1", "evt_refused")])

    message = str(failed.value)
    assert f"JetStream refused stream {jetstream.stream_name(nats_kit.prefix)}" in message
    assert topic in message


async def test_readiness_says_failing_for_a_rabbitmq_password_it_refuses(rabbitmq_kit):
    url = rabbitmq_kit.url().replace("guest:guest@", "guest:wrong-password@")
    publisher = RabbitMqPublisher(url, exchange=rabbitmq_kit.exchange, timeout=3.0)
    try:
        assert await broker_state(url, publisher) == "failing"
    finally:
        await publisher.close()
