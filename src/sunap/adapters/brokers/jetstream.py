"""NATS JetStream (nats-py): subject = topic, `Nats-Msg-Id` = event id so JetStream drops
duplicates within its window; consumers are durable pull consumers.

A subject is stored by the stream that already captures it (the merchant's, say one over
`commerce.>`), else by Sunap's own stream `SUNAP_<PREFIX>`, which holds exactly the subjects Sunap
publishes or consumes and nothing stored elsewhere: JetStream refuses streams whose subjects
overlap, so one over the whole prefix could not live beside any stream of the merchant's under it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
from collections.abc import Collection, Sequence

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from sunap.adapters.brokers.consuming import (
    MAX_RECONNECT_DELAY,
    Connected,
    Explained,
    InFlight,
    keep_consuming,
)
from sunap.adapters.brokers.redaction import describe_failure, redact_url
from sunap.application.errors import PublishFailed
from sunap.application.ports.messaging import InboundMessage, MessageHandler, OutboundMessage

DEFAULT_PREFIX = "commerce."
MSG_ID = "Nats-Msg-Id"

log = logging.getLogger("sunap.brokers")

_NOT_A_NAME_CHAR = re.compile(r"[^A-Za-z0-9_-]")


def stream_name(topic_prefix: str) -> str:
    """Sunap's own stream for the prefix's subjects no other stream captures: `commerce.` →
    `SUNAP_COMMERCE`."""
    return "SUNAP_" + _NOT_A_NAME_CHAR.sub("_", topic_prefix.strip(".")).upper()


def durable_name(group: str, topic: str) -> str:
    """The durable pull consumer a group reads one topic through (names allow no dots)."""
    return _NOT_A_NAME_CHAR.sub("_", f"{group}__{topic}")


def _checked_prefix(topic_prefix: str) -> str:
    if not topic_prefix.strip("."):
        raise ValueError("a NATS topic prefix such as 'commerce.' is required")
    return topic_prefix if topic_prefix.endswith(".") else topic_prefix + "."


async def _connect(url: str, wait: float, name: str) -> Client:
    async def on_error(exc: Exception) -> None:
        log.debug("NATS %s: %s", name, type(exc).__name__)

    # No background reconnects: a dead connection is dropped and the next call dials again,
    # so nothing waits on a socket that is gone. (nats-py retries the first dial forever with
    # max_reconnect_attempts=0, hence 1, a short pause, and an overall bound.)
    client = Client()
    try:
        async with asyncio.timeout(wait):
            await client.connect(
                servers=[url],
                name=name,
                connect_timeout=max(1, math.ceil(wait)),
                allow_reconnect=False,
                max_reconnect_attempts=1,
                reconnect_time_wait=0.1,  # type: ignore[arg-type]  # nats-py sleeps it: a float is fine
                error_cb=on_error,
            )
    except BaseException:
        # A dial the server cut leaves the socket open otherwise (one per reconnect attempt).
        with contextlib.suppress(Exception):
            await client.close()
        raise
    return client


class StreamRefused(Explained):
    """JetStream would not store a subject Sunap publishes or consumes."""


async def ensure_streams(
    js: JetStreamContext, topic_prefix: str, subjects: Collection[str]
) -> dict[str, str]:
    """The stream that stores each subject: the one that already captures it, else Sunap's own
    stream, created or extended with the subjects no stream captures (never the whole prefix).
    Raises StreamRefused, naming any stream in the way, when JetStream refuses that."""
    streams: dict[str, str] = {}
    missing = []
    for subject in sorted(set(subjects)):
        try:
            streams[subject] = await js.find_stream_name_by_subject(subject)
        except nats.js.errors.NotFoundError:
            missing.append(subject)
    if missing:
        own = stream_name(topic_prefix)
        try:
            await _add_subjects(js, own, missing)
        except nats.js.errors.APIError as refused:
            raise StreamRefused(await _refusal(js, own, missing, refused)) from refused
        streams.update(dict.fromkeys(missing, own))
    return streams


async def _add_subjects(js: JetStreamContext, name: str, subjects: list[str]) -> None:
    try:
        info = await js.stream_info(name)
    except nats.js.errors.NotFoundError:
        try:
            await js.add_stream(name=name, subjects=subjects)
            return
        except nats.js.errors.BadRequestError as refused:
            try:  # created meanwhile by another process? then extend it
                info = await js.stream_info(name)
            except nats.js.errors.NotFoundError:
                raise refused from None  # no: the refusal is the answer (overlap, limits, …)
    held = list(info.config.subjects or [])
    wanted = held + [subject for subject in subjects if subject not in held]
    if wanted != held:
        await js.update_stream(info.config.evolve(subjects=wanted))


async def _refusal(
    js: JetStreamContext, own: str, subjects: list[str], refused: nats.js.errors.APIError
) -> str:
    in_the_way = []
    with contextlib.suppress(Exception):  # the explanation is a courtesy: never fail on it
        for info in await js.streams_info():
            theirs = info.config.subjects or []
            if info.config.name != own and any(_overlap(a, b) for a in theirs for b in subjects):
                in_the_way.append(f"{info.config.name} ({', '.join(theirs)})")
    blame = f"; it overlaps stream {', '.join(in_the_way)}" if in_the_way else ""
    return (
        f"JetStream refused stream {own} for subjects {', '.join(subjects)} "
        f"({refused.description or type(refused).__name__}){blame}. The events wait in the "
        "outbox: give those subjects to one stream (see docs/api.md, Events)"
    )


def _overlap(one: str, other: str) -> bool:
    """Whether two subject filters can match a common subject (`*` one token, `>` the rest)."""
    left, right = one.split("."), other.split(".")
    for a, b in zip(left, right, strict=False):
        if ">" in (a, b):
            return True
        if a != b and "*" not in (a, b):
            return False
    return len(left) == len(right)


class NatsPublisher:
    """Publishes every message of a batch, then waits for JetStream's ack of each."""

    def __init__(
        self, url: str, *, topic_prefix: str = DEFAULT_PREFIX, timeout: float = 5.0
    ) -> None:
        self._url = url
        self._prefix = _checked_prefix(topic_prefix)
        self._timeout = timeout
        self._client: Client | None = None
        self._js: JetStreamContext | None = None
        self._stored: set[str] = set()  # subjects a stream was found or made for, this connection
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"NatsPublisher({redact_url(self._url)!r}, stream={stream_name(self._prefix)!r})"

    async def start(self) -> None:
        """Connect now if the server is there; if not, `publish` connects later."""
        try:
            await self._ready()
        except Exception as exc:
            log.warning("NATS not reachable at start (%s)", describe_failure(exc, self._url))

    async def publish(self, messages: Sequence[OutboundMessage]) -> None:
        if not messages:
            return
        try:
            js = await self._ready()
            await self._store(js, {message.topic for message in messages})
            # One connection writes in call order, so the stream stores them in the given order.
            acks = [
                await js.publish_async(
                    message.topic,
                    message.body,
                    wait_stall=self._timeout,
                    headers={MSG_ID: message.event_id},
                )
                for message in messages
            ]
            done, pending = await asyncio.wait(acks, timeout=self._timeout)
            for future in pending:
                future.cancel()
            failures = [f.exception() for f in done if f.exception() is not None]
            if pending:
                raise TimeoutError(f"{len(pending)} of {len(acks)} messages not acknowledged")
            if failures:
                raise failures[0]  # type: ignore[misc]
        except Exception as exc:
            await self._disconnect()
            raise PublishFailed(
                f"NATS JetStream did not acknowledge the batch ({describe_failure(exc, self._url)})"
            ) from exc

    async def can_publish(self) -> bool:
        """Connected (dialing now if need be) to a server whose JetStream answers."""
        try:
            js = await self._ready()
            await js.account_info()
        except Exception:
            return False
        return True

    async def close(self) -> None:
        await self._disconnect()

    async def _ready(self) -> JetStreamContext:
        async with self._lock:
            if self._client is not None and self._js is not None and self._client.is_connected:
                return self._js
            await self._disconnect_unlocked()
            client = await _connect(self._url, self._timeout, "sunap-publisher")
            js = client.jetstream(timeout=self._timeout)
            self._client, self._js = client, js
            return js

    async def _store(self, js: JetStreamContext, subjects: set[str]) -> None:
        """Make sure a stream stores each subject before publishing to it (JetStream would answer
        "no responders" otherwise); asked once per subject and connection."""
        if unknown := subjects - self._stored:
            await ensure_streams(js, self._prefix, unknown)
            self._stored |= unknown

    async def _disconnect(self) -> None:
        async with self._lock:
            await self._disconnect_unlocked()

    async def _disconnect_unlocked(self) -> None:
        client, self._client, self._js = self._client, None, None
        self._stored = set()  # a stream deleted meanwhile is found missing, and made, again
        if client is not None and not client.is_closed:
            try:
                await asyncio.wait_for(client.close(), self._timeout)
            except Exception as exc:  # it is going away either way
                log.debug("closing a NATS connection failed: %s", type(exc).__name__)


class NatsSubscriber:
    """Fetches from the durable pull consumer `<group>__<topic>`: acks after the handler returns,
    naks with `retry_delay` when it raises. Subscribers of one group share the consumer."""

    def __init__(
        self,
        url: str,
        *,
        topic_prefix: str = DEFAULT_PREFIX,
        batch: int = 10,
        fetch_wait: float = 1.0,
        retry_delay: float = 1.0,
        ack_wait: float = 30.0,
        reconnect_delay: float = 1.0,
        max_reconnect_delay: float = MAX_RECONNECT_DELAY,
        timeout: float = 5.0,
    ) -> None:
        self._url = url
        self._prefix = _checked_prefix(topic_prefix)
        self._batch = batch
        self._fetch_wait = fetch_wait
        self._retry_delay = retry_delay
        self._ack_wait = ack_wait
        self._reconnect_delay = reconnect_delay
        self._max_reconnect_delay = max_reconnect_delay
        self._timeout = timeout
        self._clients: set[Client] = set()
        self._in_flight = InFlight()
        self._closed = False

    def __repr__(self) -> str:
        return f"NatsSubscriber({redact_url(self._url)!r}, stream={stream_name(self._prefix)!r})"

    async def prepare(self, topic: str, group: str) -> None:
        """Find or create the topic's stream and the group's durable consumer, so the group reads
        every event published from now on."""
        client = await _connect(self._url, self._timeout, "sunap-subscriber")
        try:
            js = client.jetstream(timeout=self._timeout)
            await self._subscribe(js, topic, group)
        finally:
            await client.close()

    async def run(self, topic: str, group: str, handler: MessageHandler) -> None:
        await keep_consuming(
            lambda connected: self._consume(topic, group, handler, connected),
            broker="NATS",
            is_closed=lambda: self._closed,
            reconnect_delay=self._reconnect_delay,
            max_reconnect_delay=self._max_reconnect_delay,
        )

    async def close(self) -> None:
        """Stop taking messages, let the one being handled settle, then disconnect."""
        self._closed = True
        await self._in_flight.drained(self._timeout)
        for client in list(self._clients):
            await client.close()

    async def _subscribe(
        self, js: JetStreamContext, topic: str, group: str
    ) -> JetStreamContext.PullSubscription:
        stream = (await ensure_streams(js, self._prefix, [topic]))[topic]
        durable = durable_name(group, topic)
        config = ConsumerConfig(
            durable_name=durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self._ack_wait,
            max_deliver=-1,
            filter_subject=topic,
        )
        return await js.pull_subscribe(topic, durable=durable, stream=stream, config=config)

    async def _consume(
        self, topic: str, group: str, handler: MessageHandler, connected: Connected
    ) -> None:
        client = await _connect(self._url, self._timeout, "sunap-subscriber")
        self._clients.add(client)
        try:
            js = client.jetstream(timeout=self._timeout)
            subscription = await self._subscribe(js, topic, group)
            connected()
            while not self._closed:
                if not client.is_connected:
                    raise ConnectionError("NATS connection lost")
                try:
                    batch = await subscription.fetch(self._batch, timeout=self._fetch_wait)
                except nats.errors.TimeoutError:
                    continue
                for message in batch:
                    await self._settle(message, topic, handler)
        finally:
            self._clients.discard(client)
            await client.close()

    async def _settle(self, message: Msg, topic: str, handler: MessageHandler) -> None:
        if self._closed:
            return  # unacked: redelivered once ack_wait runs out
        message_id = (message.headers or {}).get(MSG_ID)
        inbound = InboundMessage(
            topic=message.subject or topic, body=message.data, message_id=message_id
        )
        with self._in_flight.settling():
            try:
                await handler(inbound)
            except Exception:
                log.warning(
                    "handler failed for message %s on %s; redelivering in %.1fs",
                    message_id,
                    topic,
                    self._retry_delay,
                    exc_info=True,
                )
                await message.nak(delay=self._retry_delay)
                return
            # Wait for the server to record the ack: a lost one would mean handling it twice.
            await message.ack_sync(timeout=self._timeout)
