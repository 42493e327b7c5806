"""One contract for every broker adapter, run against the real RabbitMQ, NATS and Redis here:
what a publisher acknowledged is delivered, in order per key, with body and id intact; a failed
handler means redelivery; a group shares work; a broker that is away fails fast and is used
again once it is back."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from sunap.adapters.brokers.reachability import broker_state
from sunap.application.errors import PublishFailed
from sunap.application.ports.messaging import InboundMessage, OutboundMessage

PATIENCE = 20.0  # a test that waits for deliveries fails after this instead of hanging
HANG_GUARD = 15.0  # a publish to a dead broker must end (with PublishFailed) well before this


def event(topic: str, key: str, sequence: int) -> OutboundMessage:
    event_id = f"evt_{uuid.uuid4().hex}"
    body = {"id": event_id, "subject": key, "sequence": sequence, "note": "한글 ✓"}
    return OutboundMessage(topic, key, event_id, json.dumps(body, ensure_ascii=False).encode())


def subject(body: bytes) -> str:
    return str(json.loads(body)["subject"])


def sequence(body: bytes) -> int:
    return int(json.loads(body)["sequence"])


@contextlib.asynccontextmanager
async def running(
    subscriber, topic: str, group: str, handler: Callable[[InboundMessage], Awaitable[None]]
) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(subscriber.run(topic, group, handler))
    try:
        yield task
    finally:
        await subscriber.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def until(condition: Callable[[], bool | Awaitable[bool]], *tasks: asyncio.Task[None]):
    """Wait for `condition`; fail at once if a subscriber died, and after PATIENCE if stuck."""
    async with asyncio.timeout(PATIENCE):
        while True:
            for task in tasks:
                if task.done():
                    task.result()
                    pytest.fail("the subscriber stopped running")
            outcome = condition()
            if outcome if isinstance(outcome, bool) else await outcome:
                return
            await asyncio.sleep(0.01)


async def test_published_messages_reach_an_independent_consumer_with_body_and_id_intact(kit):
    topic = kit.topic()
    await kit.open_raw_reader(topic)
    publisher = kit.publisher()
    await publisher.start()
    sent = [event(topic, key, n) for n in range(5) for key in ("pay_a", "pay_b")]

    await publisher.publish(sent)

    raw = await kit.read_raw(topic, len(sent))
    assert sorted((r.event_id, r.body) for r in raw) == sorted((m.event_id, m.body) for m in sent)
    assert {r.topic for r in raw} == {topic}
    for key in ("pay_a", "pay_b"):
        assert [r.event_id for r in raw if subject(r.body) == key] == [
            m.event_id for m in sent if m.key == key
        ]


async def test_500_messages_over_20_keys_reach_a_subscriber_in_order_per_key(kit):
    topic, group = kit.topic(), kit.group()
    subscriber, publisher = kit.subscriber(), kit.publisher()
    await subscriber.prepare(topic, group)
    sent = [event(topic, f"pay_{n % 20}", n // 20) for n in range(500)]
    received: list[InboundMessage] = []

    async def handle(message: InboundMessage) -> None:
        received.append(message)

    async with running(subscriber, topic, group, handle) as task:
        for start in range(0, len(sent), 100):  # batches, as the outbox relay sends them
            await publisher.publish(sent[start : start + 100])
        await until(lambda: len(received) >= len(sent), task)

    assert {m.message_id: m.body for m in received} == {m.event_id: m.body for m in sent}
    assert {m.topic for m in received} == {topic}
    for key in {m.key for m in sent}:
        assert [sequence(m.body) for m in received if subject(m.body) == key] == list(range(25))


async def test_a_message_whose_handler_raised_is_redelivered_and_acked_once_it_succeeds(kit):
    topic, group = kit.topic(), kit.group()
    subscriber, publisher = kit.subscriber(), kit.publisher()
    await subscriber.prepare(topic, group)
    attempts: Counter[str | None] = Counter()

    async def handle(message: InboundMessage) -> None:
        attempts[message.message_id] += 1
        if attempts[message.message_id] == 1:
            raise RuntimeError("the first attempt fails")

    sent = event(topic, "pay_1", 1)
    async with running(subscriber, topic, group, handle) as task:
        await publisher.publish([sent])
        await until(lambda: attempts[sent.event_id] >= 2, task)

    assert attempts == {sent.event_id: 2}
    assert await kit.unsettled(topic, group) == 0


async def test_two_subscribers_in_one_group_share_the_work_and_never_both_handle_a_message(kit):
    topic, group = kit.topic(), kit.group()
    first, second, publisher = kit.subscriber(), kit.subscriber(), kit.publisher()
    await first.prepare(topic, group)
    handled: dict[str, list[str | None]] = {"first": [], "second": []}

    def handler_for(name: str) -> Callable[[InboundMessage], Awaitable[None]]:
        async def handle(message: InboundMessage) -> None:
            handled[name].append(message.message_id)
            await asyncio.sleep(0.005)  # some work, so the other subscriber gets a turn

        return handle

    sent = [event(topic, f"pay_{n}", 1) for n in range(60)]
    async with (
        running(first, topic, group, handler_for("first")) as one,
        running(second, topic, group, handler_for("second")) as two,
    ):
        await until(lambda: kit.consumers_waiting(topic, group, 2), one, two)
        await publisher.publish(sent)
        await until(lambda: len(handled["first"]) + len(handled["second"]) >= len(sent), one, two)

    assert sorted(handled["first"] + handled["second"]) == sorted(m.event_id for m in sent)
    assert handled["first"]
    assert handled["second"]


async def test_publishing_to_an_unreachable_broker_raises_publish_failed_instead_of_hanging(
    kit, unused_port
):
    publisher = kit.publisher(port=unused_port)
    await publisher.start()  # best effort: a broker that is away must not stop the service

    with pytest.raises(PublishFailed):
        await asyncio.wait_for(publisher.publish([event(kit.topic(), "pay_1", 1)]), HANG_GUARD)


async def test_a_publisher_works_again_once_its_broker_is_back(kit, proxy):
    topic = kit.topic()
    await kit.open_raw_reader(topic)
    publisher = kit.publisher(port=proxy.port)
    before, during, after = (event(topic, "pay_1", n) for n in (1, 2, 3))
    await publisher.publish([before])

    await proxy.stop()
    with pytest.raises(PublishFailed):
        await asyncio.wait_for(publisher.publish([during]), HANG_GUARD)
    await proxy.start()
    await publisher.publish([after])

    assert [r.event_id for r in await kit.read_raw(topic, 2)] == [before.event_id, after.event_id]


async def test_a_subscriber_resumes_once_its_broker_is_back(kit, proxy):
    topic, group = kit.topic(), kit.group()
    subscriber, publisher = kit.subscriber(port=proxy.port), kit.publisher()
    await kit.subscriber().prepare(topic, group)
    received: list[str | None] = []

    async def handle(message: InboundMessage) -> None:
        received.append(message.message_id)

    before, meanwhile = event(topic, "pay_1", 1), event(topic, "pay_1", 2)
    async with running(subscriber, topic, group, handle) as task:
        await publisher.publish([before])
        await until(lambda: before.event_id in received, task)
        await proxy.stop()
        await publisher.publish([meanwhile])
        await proxy.start()
        await until(lambda: meanwhile.event_id in received, task)


async def test_a_subscriber_logs_an_outage_once_each_way_and_backs_off_meanwhile(
    kit, proxy, caplog
):
    """A broker that accepts connections and closes them (down behind a balancer) makes the
    subscriber retry many times: one WARNING when it starts, one INFO once it is back, none per
    retry (it was a WARNING each second, 3,600 lines an hour)."""
    topic, group = kit.topic(), kit.group()
    subscriber, publisher = kit.subscriber(port=proxy.port), kit.publisher()
    await kit.subscriber().prepare(topic, group)
    received: list[str | None] = []

    async def handle(message: InboundMessage) -> None:
        received.append(message.message_id)

    before, meanwhile = event(topic, "pay_1", 1), event(topic, "pay_1", 2)
    caplog.set_level(logging.INFO, logger="sunap.brokers")
    async with running(subscriber, topic, group, handle) as task:
        await publisher.publish([before])
        await until(lambda: before.event_id in received, task)
        await proxy.refuse()
        await publisher.publish([meanwhile])
        await until(lambda: proxy.refused >= 5, task)  # several reconnect attempts
        await proxy.forward()
        await until(lambda: meanwhile.event_id in received, task)

    lines = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "sunap.brokers"]
    lost = [line for line in lines if "lost its connection" in line[1]]
    back = [line for line in lines if "connected again" in line[1]]
    assert [level for level, _ in lost] == ["WARNING"], lines
    assert [level for level, _ in back] == ["INFO"], lines


async def test_readiness_says_ok_only_when_the_publisher_can_publish(kit, proxy):
    """/readyz's broker check: a broker that takes TCP connections and closes them (down behind
    a balancer) is `failing`, not `ok` as a bare TCP connect said; nothing on the port is
    `unreachable`."""
    url = kit.url(proxy.port)
    publisher = kit.publisher(port=proxy.port)
    assert await broker_state(url, publisher) == "ok"

    await proxy.refuse()
    assert await broker_state(url, publisher) == "failing"

    await proxy.stop()
    assert await broker_state(url, publisher) == "unreachable"

    await proxy.forward()
    await proxy.start()
    assert await broker_state(url, publisher) == "ok"
