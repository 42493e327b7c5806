"""Kafka (aiokafka): an idempotent producer (`acks=all`), key = payment id, value = the envelope,
header `id` = the event id; consumers commit a record's offset only after its handler returned."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from sunap.adapters.brokers.consuming import (
    MAX_RECONNECT_DELAY,
    Connected,
    InFlight,
    keep_consuming,
)
from sunap.application.errors import PublishFailed
from sunap.application.ports.messaging import InboundMessage, MessageHandler, OutboundMessage

log = logging.getLogger("sunap.brokers")

CLIENT_ID = "sunap"


class KafkaPublisher:
    """Sends a batch and waits for every send's ack. Idempotence keeps per-partition order
    across the producer's own retries, and one key always maps to one partition."""

    def __init__(
        self, bootstrap_servers: Sequence[str], *, timeout: float = 5.0, client_id: str = CLIENT_ID
    ) -> None:
        if not bootstrap_servers:
            raise ValueError("Kafka needs at least one bootstrap server (host:port)")
        self._servers = list(bootstrap_servers)
        self._timeout = timeout
        self._client_id = client_id
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"KafkaPublisher({self._servers!r})"

    def build_producer(self) -> AIOKafkaProducer:
        """A new, unstarted producer with our settings (call inside the running event loop)."""
        return AIOKafkaProducer(
            bootstrap_servers=self._servers,
            client_id=self._client_id,
            enable_idempotence=True,
            acks="all",
            request_timeout_ms=int(self._timeout * 1000),
            linger_ms=5,
        )

    async def start(self) -> None:
        """Connect now if the cluster is there; if not, `publish` connects later."""
        try:
            async with asyncio.timeout(self._timeout):
                await self._ready()
        except Exception as exc:
            log.warning("Kafka not reachable at start (%s)", type(exc).__name__)

    async def publish(self, messages: Sequence[OutboundMessage]) -> None:
        if not messages:
            return
        try:
            async with asyncio.timeout(self._timeout):
                producer = await self._ready()
                acks = [
                    await producer.send(
                        message.topic,
                        value=message.body,
                        key=message.key.encode(),
                        headers=[("id", message.event_id.encode())],
                    )
                    for message in messages
                ]
                await _all_acknowledged(acks)
        except Exception as exc:
            # Drop the producer: what it still holds must not be sent after a later batch.
            await self._disconnect()
            raise PublishFailed(
                f"Kafka did not acknowledge the batch ({type(exc).__name__}: {exc})"
            ) from exc

    async def can_publish(self) -> bool:
        """A started producer (started now if need be: it reads the cluster's metadata)."""
        try:
            async with asyncio.timeout(self._timeout):
                await self._ready()
        except Exception:
            return False
        return True

    async def close(self) -> None:
        await self._disconnect()

    async def _ready(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                producer = self.build_producer()
                try:
                    await producer.start()
                except BaseException:
                    await _stop(producer, self._timeout)
                    raise
                self._producer = producer
            return self._producer

    async def _disconnect(self) -> None:
        async with self._lock:
            producer, self._producer = self._producer, None
            if producer is not None:
                await _stop(producer, self._timeout)


async def _all_acknowledged(acks: list[asyncio.Future[object]]) -> None:
    """Wait for every ack, and raise the first failure once all have settled (so none is left
    with an exception nobody retrieved)."""
    await asyncio.wait(acks)
    for ack in acks:
        ack.result()


async def _stop(producer: AIOKafkaProducer, wait: float) -> None:
    try:
        # stop() flushes; against a dead cluster that would wait too long.
        await asyncio.wait_for(asyncio.shield(producer.stop()), wait)
    except Exception as exc:
        log.debug("stopping a Kafka producer failed: %s", type(exc).__name__)


class KafkaSubscriber:
    """Consumes `topic` in consumer group `group` from the earliest uncommitted offset; commits
    each record's offset after its handler returned, and on a handler error seeks back to the
    record so it is fetched again after `retry_delay`."""

    def __init__(
        self,
        bootstrap_servers: Sequence[str],
        *,
        retry_delay: float = 1.0,
        reconnect_delay: float = 1.0,
        max_reconnect_delay: float = MAX_RECONNECT_DELAY,
        timeout: float = 5.0,
        client_id: str = CLIENT_ID,
    ) -> None:
        if not bootstrap_servers:
            raise ValueError("Kafka needs at least one bootstrap server (host:port)")
        self._servers = list(bootstrap_servers)
        self._timeout = timeout
        self._retry_delay = retry_delay
        self._reconnect_delay = reconnect_delay
        self._max_reconnect_delay = max_reconnect_delay
        self._client_id = client_id
        self._consumers: set[AIOKafkaConsumer] = set()
        self._in_flight = InFlight()
        self._closed = False

    def __repr__(self) -> str:
        return f"KafkaSubscriber({self._servers!r})"

    def build_consumer(self, topic: str, group: str) -> AIOKafkaConsumer:
        """A new, unstarted consumer (call inside the running event loop)."""
        return AIOKafkaConsumer(
            topic,
            bootstrap_servers=self._servers,
            client_id=self._client_id,
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
        )

    async def run(self, topic: str, group: str, handler: MessageHandler) -> None:
        await keep_consuming(
            lambda connected: self._consume(topic, group, handler, connected),
            broker="Kafka",
            is_closed=lambda: self._closed,
            reconnect_delay=self._reconnect_delay,
            max_reconnect_delay=self._max_reconnect_delay,
        )

    async def close(self) -> None:
        """Stop taking records, let the one being handled settle, then disconnect."""
        self._closed = True
        await self._in_flight.drained(self._timeout)
        for consumer in list(self._consumers):
            await consumer.stop()

    async def _consume(
        self, topic: str, group: str, handler: MessageHandler, connected: Connected
    ) -> None:
        consumer = self.build_consumer(topic, group)
        self._consumers.add(consumer)
        try:
            await consumer.start()
            connected()
            while not self._closed:
                record = await consumer.getone()
                await self._settle(consumer, record, handler)
        finally:
            self._consumers.discard(consumer)
            await consumer.stop()

    async def _settle(
        self,
        consumer: AIOKafkaConsumer,
        record: ConsumerRecord[bytes, bytes],
        handler: MessageHandler,
    ) -> None:
        if self._closed:
            return  # not committed: the group reads it again
        partition = TopicPartition(record.topic, record.partition)
        event_id = dict(record.headers or ()).get("id")
        inbound = InboundMessage(
            topic=record.topic,
            body=record.value or b"",
            message_id=event_id.decode() if event_id else None,
        )
        with self._in_flight.settling():
            try:
                await handler(inbound)
            except Exception:
                log.warning(
                    "handler failed for record %s@%s; fetching it again",
                    partition,
                    record.offset,
                    exc_info=True,
                )
                await asyncio.sleep(self._retry_delay)
                consumer.seek(partition, record.offset)
                return
            await consumer.commit({partition: record.offset + 1})
