"""Redis Streams (redis.asyncio): one stream per topic, one entry per event with fields `event`
(the envelope), `id` (the event id) and `key` (the payment id); consumers use consumer groups."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Sequence
from typing import Any

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ResponseError

from sunap.adapters.brokers.consuming import (
    MAX_RECONNECT_DELAY,
    Connected,
    InFlight,
    keep_consuming,
)
from sunap.adapters.brokers.redaction import describe_failure, redact_url
from sunap.application.errors import PublishFailed
from sunap.application.ports.messaging import InboundMessage, MessageHandler, OutboundMessage

EVENT, ID, KEY = b"event", b"id", b"key"

log = logging.getLogger("sunap.brokers")

Entry = tuple[bytes, dict[bytes, bytes] | None]


def _client(url: str, timeout: float) -> redis.Redis:
    # One quick retry redials a pooled connection the server dropped (a restart); more would
    # only make a publish to a dead server slower to fail.
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 1),
    )


class RedisStreamsPublisher:
    """`XADD`s a batch in one pipeline, in order; returns once Redis answered every entry."""

    def __init__(self, url: str, *, timeout: float = 5.0, max_len: int | None = None) -> None:
        self._url = url
        self._timeout = timeout
        self._max_len = max_len  # approximate cap per stream; None keeps every entry
        self._redis = _client(url, timeout)

    def __repr__(self) -> str:
        return f"RedisStreamsPublisher({redact_url(self._url)!r})"

    async def start(self) -> None:
        return None  # the pool dials on first use and redials after a drop

    async def publish(self, messages: Sequence[OutboundMessage]) -> None:
        if not messages:
            return
        try:
            async with (
                asyncio.timeout(self._timeout),
                self._redis.pipeline(transaction=False) as pipe,
            ):
                for message in messages:
                    pipe.xadd(
                        message.topic,
                        {EVENT: message.body, ID: message.event_id, KEY: message.key},
                        maxlen=self._max_len,
                        approximate=True,
                    )
                await pipe.execute()
        except Exception as exc:
            raise PublishFailed(
                f"Redis did not store the batch ({describe_failure(exc, self._url)})"
            ) from exc

    async def can_publish(self) -> bool:
        """Redis answers a PING on a pooled connection (logged in as the URL says)."""
        try:
            async with asyncio.timeout(self._timeout):
                await self._redis.ping()
        except Exception:
            return False
        return True

    async def close(self) -> None:
        await self._redis.aclose()


class RedisStreamsSubscriber:
    """Reads a topic's stream through consumer group `group` (created at the stream's start, so
    a new group sees the history). Acks after the handler returns; an entry whose handler raised
    stays pending and is claimed again (`XAUTOCLAIM`) once idle for `reclaim_after` seconds — by
    this consumer or another of the group, which also recovers entries of crashed consumers."""

    def __init__(
        self,
        url: str,
        *,
        consumer: str | None = None,
        batch: int = 10,
        block: float = 1.0,
        reclaim_after: float = 30.0,
        reconnect_delay: float = 1.0,
        max_reconnect_delay: float = MAX_RECONNECT_DELAY,
        timeout: float = 5.0,
    ) -> None:
        self._url = url
        self._consumer = consumer or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self._batch = batch
        self._block_ms = int(block * 1000)
        self._reclaim_ms = int(reclaim_after * 1000)
        self._reconnect_delay = reconnect_delay
        self._max_reconnect_delay = max_reconnect_delay
        # A blocking read must not look like a dead socket.
        self._redis = _client(url, timeout + block)
        self._timeout = timeout
        self._in_flight = InFlight()
        self._closed = False

    def __repr__(self) -> str:
        return f"RedisStreamsSubscriber({redact_url(self._url)!r}, consumer={self._consumer!r})"

    async def prepare(self, topic: str, group: str) -> None:
        """Create the stream and the group unless they exist."""
        try:
            await self._redis.xgroup_create(topic, group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def run(self, topic: str, group: str, handler: MessageHandler) -> None:
        await keep_consuming(
            lambda connected: self._consume(topic, group, handler, connected),
            broker="Redis",
            is_closed=lambda: self._closed,
            reconnect_delay=self._reconnect_delay,
            max_reconnect_delay=self._max_reconnect_delay,
        )

    async def close(self) -> None:
        """Stop taking entries, let the one being handled settle, then disconnect."""
        self._closed = True
        await self._in_flight.drained(self._timeout)
        await self._redis.aclose()

    async def _consume(
        self, topic: str, group: str, handler: MessageHandler, connected: Connected
    ) -> None:
        await self.prepare(topic, group)
        # Announce this consumer now (XREADGROUP would only once it gets an entry).
        await self._redis.xgroup_createconsumer(topic, group, self._consumer)
        connected()
        cursor: bytes | str = "0-0"
        while not self._closed:
            cursor, claimed = await self._reclaim(topic, group, cursor)
            for entry in claimed:
                await self._settle(entry, topic, group, handler)
            for entry in await self._read_new(topic, group):
                await self._settle(entry, topic, group, handler)

    async def _reclaim(
        self, topic: str, group: str, cursor: bytes | str
    ) -> tuple[bytes | str, list[Entry]]:
        reply: list[Any] = await self._redis.xautoclaim(
            topic, group, self._consumer, self._reclaim_ms, start_id=cursor, count=self._batch
        )
        return reply[0], reply[1]

    async def _read_new(self, topic: str, group: str) -> list[Entry]:
        reply: Any = await self._redis.xreadgroup(
            group, self._consumer, {topic: ">"}, count=self._batch, block=self._block_ms
        )
        return [entry for _stream, entries in reply or [] for entry in entries]

    async def _settle(self, entry: Entry, topic: str, group: str, handler: MessageHandler) -> None:
        if self._closed:
            return  # left pending: claimed again by the group later
        entry_id, fields = entry
        if not fields or EVENT not in fields:
            # Trimmed away, or not written by an event publisher: nothing to hand over.
            log.error("stream %s entry %r has no %r field; acking it", topic, entry_id, EVENT)
            await self._redis.xack(topic, group, entry_id)
            return
        event_id = fields.get(ID)
        inbound = InboundMessage(
            topic=topic,
            body=fields[EVENT],
            message_id=(event_id or entry_id).decode(),
        )
        with self._in_flight.settling():
            try:
                await handler(inbound)
            except Exception:
                log.warning(
                    "handler failed for entry %r on %s; left pending for redelivery",
                    entry_id,
                    topic,
                    exc_info=True,
                )
                return
            await self._redis.xack(topic, group, entry_id)
