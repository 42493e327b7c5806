"""Events out to a broker, and order events in from one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class OutboundMessage:
    topic: str  # e.g. "commerce.payment.completed"
    key: str  # the payment id: brokers keep order per key
    event_id: str  # the CloudEvents id; consumers dedupe on it
    body: bytes  # the CloudEvents envelope as JSON


class EventPublisher(Protocol):
    async def start(self) -> None: ...

    async def publish(self, messages: Sequence[OutboundMessage]) -> None:
        """Return only once the broker acknowledged every message, in the given order per key;
        raise PublishFailed otherwise."""
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class InboundMessage:
    topic: str
    body: bytes
    message_id: str | None  # the broker's id when it has one


MessageHandler = Callable[[InboundMessage], Awaitable[None]]


class MessageSubscriber(Protocol):
    async def run(self, topic: str, group: str, handler: MessageHandler) -> None:
        """Deliver messages of `topic` to `handler` until cancelled. A message is acknowledged
        only after the handler returns; if the handler raises, it is redelivered later."""
        ...

    async def close(self) -> None: ...
