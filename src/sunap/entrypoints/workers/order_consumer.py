"""The consumer of `commerce.order.placed`: one READY payment per (tenant, orderId).

The broker drives this worker: its subscriber pushes messages to the handler and acknowledges
each one only after the handler returned. A handler error (the database is down) leaves the
message to be delivered again; a malformed order is recorded and acknowledged by the handler so
that it never blocks the orders behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from sunap.application.deps import Deps
from sunap.application.order_placed import SUBSCRIBER, handle_order_placed
from sunap.application.ports.api_keys import ApiKeyStore
from sunap.application.ports.consumed_messages import ConsumedMessages
from sunap.application.ports.messaging import InboundMessage, MessageHandler, MessageSubscriber
from sunap.entrypoints.metrics import Metrics

from .loop import Worker, never_an_outage

log = logging.getLogger("sunap.orders")

ORDER_PLACED = "order.placed"
GROUP = f"sunap-{SUBSCRIBER}"
# How long a stopping worker lets the subscriber settle the message in hand before cancelling it.
STOP_GRACE_SECONDS = 10.0


class SubscriptionWorker(Worker):
    """A Worker whose step is a subscription: it consumes until the group is stopped, then
    closes the subscriber so the message in hand settles (acked or left for redelivery)."""

    def __init__(
        self,
        name: str,
        subscriber: MessageSubscriber,
        topic: str,
        group: str,
        handler: MessageHandler,
        *,
        poll_seconds: float = 1.0,
    ) -> None:
        super().__init__(name, self._consume, poll_seconds)
        self.subscriber = subscriber
        self.topic = topic
        self.group = group
        self.handler = handler

    async def _consume(self) -> int:
        # Returns only when the subscriber was closed; an error here is retried by the loop.
        await self.subscriber.run(self.topic, self.group, self.handler)
        return 0

    async def run(
        self,
        metrics: Metrics,
        stop: asyncio.Event,
        is_outage: Callable[[BaseException], bool] = never_an_outage,
    ) -> None:
        consuming = asyncio.create_task(
            super().run(metrics, stop, is_outage), name=f"sunap-{self.name}"
        )
        try:
            await stop.wait()
        finally:
            await self.subscriber.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(consuming), STOP_GRACE_SECONDS)
            if not consuming.done():
                consuming.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await consuming
            # A read cut short by the first close may have redialled on its way out.
            await self.subscriber.close()


def order_consumer_worker(
    subscriber: MessageSubscriber,
    topic: str,
    deps: Deps,
    tenants: ApiKeyStore,
    consumed: ConsumedMessages,
    metrics: Metrics,
    *,
    group: str = GROUP,
) -> SubscriptionWorker:
    """The worker creating payments from `topic` (e.g. `commerce.order.placed`); the subscriber's
    consumer group `group` is shared by every Sunap process, so each order is handled by one."""

    async def handle(message: InboundMessage) -> None:
        outcome = await handle_order_placed(message, deps, tenants, consumed)
        metrics.orders_consumed.labels(outcome=outcome).inc()
        log.info("order.placed %s: %s", message.message_id, outcome)

    return SubscriptionWorker("orders", subscriber, topic, group, handle)


def order_consumer_workers(
    subscriber: MessageSubscriber | None,
    topic_prefix: str,
    deps: Deps,
    tenants: ApiKeyStore,
    consumed: ConsumedMessages,
    metrics: Metrics,
) -> list[Worker]:
    """The order consumer when a broker is configured; none on the embedded default, which has
    nothing to subscribe to."""
    if subscriber is None:
        return []
    topic = order_placed_topic(topic_prefix)
    return [order_consumer_worker(subscriber, topic, deps, tenants, consumed, metrics)]


def order_placed_topic(topic_prefix: str) -> str:
    """`commerce.` → `commerce.order.placed`."""
    return f"{topic_prefix}{ORDER_PLACED}"
