"""Kafka's producer settings (docs/reliability.md, The outbox and the relay), and a cluster that is not there. There is no
Kafka broker on this machine: what needs one is covered by the contract suite's other brokers."""

from __future__ import annotations

import asyncio
import socket

import pytest

from sunap.adapters.brokers.kafka import KafkaPublisher, KafkaSubscriber
from sunap.application.errors import PublishFailed
from sunap.application.ports.messaging import OutboundMessage

HANG_GUARD = 15.0  # the publish must end (with PublishFailed) well before this


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_the_producer_is_idempotent_and_waits_for_every_in_sync_replica():
    producer = KafkaPublisher(["k1:9092", "k2:9092"]).build_producer()
    try:
        assert producer._txn_manager is not None  # enable_idempotence=True
        assert producer._sender._acks == -1  # acks="all"
        assert producer.client._bootstrap_servers == ["k1:9092", "k2:9092"]
    finally:
        await producer.stop()


async def test_the_consumer_commits_offsets_itself_and_starts_from_the_earliest():
    consumer = KafkaSubscriber(["k1:9092"]).build_consumer("commerce.order.placed", "sunap")
    try:
        assert consumer._enable_auto_commit is False
        assert consumer._group_id == "sunap"
        assert consumer._subscription.subscription.topics == {"commerce.order.placed"}
    finally:
        await consumer.stop()


async def test_publishing_to_an_unreachable_cluster_raises_publish_failed_instead_of_hanging():
    publisher = KafkaPublisher([f"127.0.0.1:{unused_port()}"], timeout=2.0)
    message = OutboundMessage("commerce.payment.completed", "pay_1", "evt_1", b"{}")
    try:
        await publisher.start()  # best effort: a cluster that is away must not stop the service
        with pytest.raises(PublishFailed):
            await asyncio.wait_for(publisher.publish([message]), HANG_GUARD)
    finally:
        await publisher.close()


async def test_an_empty_batch_needs_no_cluster():
    publisher = KafkaPublisher([f"127.0.0.1:{unused_port()}"], timeout=2.0)
    await publisher.publish([])
    await publisher.close()


def test_kafka_needs_a_bootstrap_server():
    with pytest.raises(ValueError, match="bootstrap"):
        KafkaPublisher([])


class _RecordingProducer:
    """Stands in for aiokafka's producer: keeps what it is asked to send, acks each at once."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]] = []

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def send(
        self, topic: str, *, value: bytes, key: bytes, headers: list[tuple[str, bytes]]
    ) -> asyncio.Future[object]:
        self.sent.append((topic, key, value, headers))
        acked: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        acked.set_result(None)
        return acked


async def test_each_message_is_keyed_by_its_payment_and_carries_its_event_id():
    """Checklist item 30: key = payment id (one partition per payment keeps its order), and
    the CloudEvents id (the outbox row's) in an `id` header, so consumers dedupe on it."""
    producer = _RecordingProducer()
    publisher = KafkaPublisher(["k1:9092"])
    publisher.build_producer = lambda: producer  # type: ignore[method-assign,assignment,return-value]
    await publisher.publish(
        [
            OutboundMessage("commerce.payment.created", "pay_1", "evt_1", b'{"a":1}'),
            OutboundMessage("commerce.payment.completed", "pay_1", "evt_2", b'{"a":2}'),
        ]
    )
    await publisher.close()
    assert producer.sent == [
        ("commerce.payment.created", b"pay_1", b'{"a":1}', [("id", b"evt_1")]),
        ("commerce.payment.completed", b"pay_1", b'{"a":2}', [("id", b"evt_2")]),
    ]
