"""RabbitMQ (aio-pika): a durable topic exchange `sunap`, routing key = topic, persistent messages
sent mandatory with publisher confirms; consumers read a durable queue per (group, topic)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractConnection,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
)

from sunap.adapters.brokers.consuming import (
    MAX_RECONNECT_DELAY,
    Connected,
    InFlight,
    keep_consuming,
)
from sunap.adapters.brokers.key_order import send_in_key_order
from sunap.adapters.brokers.redaction import describe_failure, redact_url, scrub
from sunap.application.errors import PublishFailed
from sunap.application.ports.messaging import InboundMessage, MessageHandler, OutboundMessage

EXCHANGE = "sunap"
CONTENT_TYPE = "application/cloudevents+json"

log = logging.getLogger("sunap.brokers")

# How often one routing key no queue takes is warned about again, per process.
UNROUTED_WARNING_EVERY = 3600.0


def queue_name(group: str, topic: str) -> str:
    """The durable queue a consumer group reads one topic from."""
    return f"{group}.{topic}"


async def _declare_exchange(channel: AbstractChannel, name: str, wait: float) -> AbstractExchange:
    return await channel.declare_exchange(
        name, aio_pika.ExchangeType.TOPIC, durable=True, timeout=wait
    )


class RabbitMqPublisher:
    """Returns from `publish` once RabbitMQ confirmed every message. A message no queue is bound
    to is dropped by RabbitMQ: sent mandatory, it comes back, and a WARNING names its routing key
    (once an hour per key), so a consumer that was never bound is seen, not silent. It is not
    kept back: a merchant who binds only the topics they read would otherwise stall every event
    behind the first one nobody reads. Subscribers declare their queues (see `prepare`)."""

    def __init__(self, url: str, *, exchange: str = EXCHANGE, timeout: float = 5.0) -> None:
        self._url = url
        self._exchange_name = exchange
        self._timeout = timeout
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._lock = asyncio.Lock()
        self._unrouted_warned: dict[str, float] = {}  # routing key -> when last warned

    def __repr__(self) -> str:
        return f"RabbitMqPublisher({redact_url(self._url)!r}, exchange={self._exchange_name!r})"

    async def start(self) -> None:
        """Connect now if the broker is there; if not, `publish` connects later."""
        try:
            await self._ready_exchange()
        except Exception as exc:
            log.warning("RabbitMQ not reachable at start (%s)", scrub(repr(exc), self._url))

    async def publish(self, messages: Sequence[OutboundMessage]) -> None:
        if not messages:
            return
        try:
            exchange = await self._ready_exchange()
            await send_in_key_order(messages, lambda message: self._send(exchange, message))
        except Exception as exc:
            # The connection may be half dead: start afresh on the next publish.
            await self._disconnect()
            raise PublishFailed(
                f"RabbitMQ did not confirm the batch ({describe_failure(exc, self._url)})"
            ) from exc

    async def can_publish(self) -> bool:
        """Connected and logged in, with the exchange declared (dialing now if need be); a kept
        connection must answer a round trip, as one cut under us still looks open for a while."""
        try:
            await self._ready_exchange()
            channel = self._channel
            if channel is None:  # dropped meanwhile by a failed publish
                return False
            await _declare_exchange(channel, self._exchange_name, self._timeout)
        except Exception:
            await self._disconnect()  # half dead: the next publish dials afresh
            return False
        return True

    async def close(self) -> None:
        await self._disconnect()

    async def _send(self, exchange: AbstractExchange, message: OutboundMessage) -> None:
        try:
            await exchange.publish(
                aio_pika.Message(
                    message.body,
                    message_id=message.event_id,
                    content_type=CONTENT_TYPE,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=message.topic,
                mandatory=True,
                timeout=self._timeout,
            )
        except aio_pika.exceptions.PublishError:  # returned: no queue is bound to its key
            self._warn_unrouted(message)

    def _warn_unrouted(self, message: OutboundMessage) -> None:
        now = time.monotonic()
        last = self._unrouted_warned.get(message.topic)
        if last is not None and now - last < UNROUTED_WARNING_EVERY:
            return
        self._unrouted_warned[message.topic] = now
        log.warning(
            "RabbitMQ dropped event %s: no queue is bound to routing key %r on exchange %r "
            "(bind a durable queue to every topic you read before Sunap publishes; said once "
            "an hour per routing key)",
            message.event_id,
            message.topic,
            self._exchange_name,
        )

    async def _ready_exchange(self) -> AbstractExchange:
        async with self._lock:
            if (
                self._exchange is not None
                and self._connection is not None
                and not self._connection.is_closed
                and self._channel is not None
                and not self._channel.is_closed
            ):
                return self._exchange
            await self._disconnect_unlocked()
            connection = await aio_pika.connect(self._url, timeout=self._timeout)
            try:
                # A returned (unroutable) message raises PublishError, not a silent confirm.
                channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
                exchange = await _declare_exchange(channel, self._exchange_name, self._timeout)
            except BaseException:
                await connection.close()
                raise
            self._connection, self._channel, self._exchange = connection, channel, exchange
            return exchange

    async def _disconnect(self) -> None:
        async with self._lock:
            await self._disconnect_unlocked()

    async def _disconnect_unlocked(self) -> None:
        connection = self._connection
        self._connection = self._channel = self._exchange = None
        if connection is not None and not connection.is_closed:
            try:
                await asyncio.wait_for(connection.close(), self._timeout)
            except Exception as exc:  # it is going away either way
                log.debug("closing a RabbitMQ connection failed: %r", type(exc).__name__)


class RabbitMqSubscriber:
    """Reads the durable queue `<group>.<topic>` bound to the exchange; acks after the handler
    returns, and on a handler error waits `retry_delay` then nacks with requeue."""

    def __init__(
        self,
        url: str,
        *,
        exchange: str = EXCHANGE,
        prefetch: int = 10,
        retry_delay: float = 1.0,
        reconnect_delay: float = 1.0,
        max_reconnect_delay: float = MAX_RECONNECT_DELAY,
        timeout: float = 5.0,
    ) -> None:
        self._url = url
        self._exchange_name = exchange
        self._prefetch = prefetch
        self._retry_delay = retry_delay
        self._reconnect_delay = reconnect_delay
        self._max_reconnect_delay = max_reconnect_delay
        self._timeout = timeout
        self._connections: set[AbstractConnection] = set()
        self._in_flight = InFlight()
        self._closed = False

    def __repr__(self) -> str:
        return f"RabbitMqSubscriber({redact_url(self._url)!r}, exchange={self._exchange_name!r})"

    async def prepare(self, topic: str, group: str) -> None:
        """Declare the exchange and the group's queue, so events published from now on are kept
        for the group even before it consumes."""
        connection = await aio_pika.connect(self._url, timeout=self._timeout)
        async with connection:
            await self._declare(await connection.channel(), topic, group)

    async def run(self, topic: str, group: str, handler: MessageHandler) -> None:
        await keep_consuming(
            lambda connected: self._consume(topic, group, handler, connected),
            broker="RabbitMQ",
            is_closed=lambda: self._closed,
            reconnect_delay=self._reconnect_delay,
            max_reconnect_delay=self._max_reconnect_delay,
        )

    async def close(self) -> None:
        """Stop taking messages, let the one being handled settle, then disconnect."""
        self._closed = True
        await self._in_flight.drained(self._timeout)
        for connection in list(self._connections):
            await connection.close()

    async def _declare(self, channel: AbstractChannel, topic: str, group: str) -> AbstractQueue:
        exchange = await _declare_exchange(channel, self._exchange_name, self._timeout)
        queue = await channel.declare_queue(
            queue_name(group, topic), durable=True, timeout=self._timeout
        )
        await queue.bind(exchange, routing_key=topic, timeout=self._timeout)
        return queue

    async def _consume(
        self, topic: str, group: str, handler: MessageHandler, connected: Connected
    ) -> None:
        connection = await aio_pika.connect(self._url, timeout=self._timeout)
        self._connections.add(connection)
        try:
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=self._prefetch)
            queue = await self._declare(channel, topic, group)
            async with queue.iterator() as delivered:
                connected()
                async for message in delivered:
                    await self._settle(message, topic, handler)
        finally:
            self._connections.discard(connection)
            # Unacked messages go back to the queue when the connection closes.
            await connection.close()

    async def _settle(
        self, message: AbstractIncomingMessage, topic: str, handler: MessageHandler
    ) -> None:
        if self._closed:
            return  # unacked: RabbitMQ hands it out again once we disconnect
        inbound = InboundMessage(
            topic=message.routing_key or topic, body=message.body, message_id=message.message_id
        )
        with self._in_flight.settling():
            try:
                await handler(inbound)
            except Exception:
                log.warning(
                    "handler failed for message %s on %s; requeueing",
                    message.message_id,
                    topic,
                    exc_info=True,
                )
                await asyncio.sleep(self._retry_delay)
                await message.nack(requeue=True)
                return
            await message.ack()
