"""What consumers outside Sunap rely on, per broker (docs/api.md, Events)."""

from __future__ import annotations

import json

from sunap.application.ports.messaging import OutboundMessage


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
