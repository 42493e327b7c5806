"""The outbox relay: publish committed events, then mark them; at least once, in order per payment.

A crash between the broker's ack and the mark republishes the batch: consumers dedupe by event id.
"""

from __future__ import annotations

import logging

from sunap.application.ports import (
    Clock,
    EventPublisher,
    OutboundMessage,
    OutboxStore,
    PublishFailed,
)
from sunap.entrypoints.metrics import Metrics

from .loop import Worker

log = logging.getLogger("sunap.relay")

BATCH_SIZE = 100


class OutboxRelay:
    def __init__(
        self,
        store: OutboxStore,
        publisher: EventPublisher,
        clock: Clock,
        metrics: Metrics,
        *,
        topic_prefix: str = "commerce.",
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._clock = clock
        self._metrics = metrics
        self._prefix = topic_prefix
        self._batch_size = batch_size

    async def publish_batch(self) -> int:
        """Publish one batch; the number of events published (0: nothing to do)."""
        async with self._store.batch(self._batch_size) as batch:
            if not batch.rows:
                await self._observe_lag()
                return 0
            messages = [
                OutboundMessage(
                    topic=f"{self._prefix}{row.type}",
                    key=row.aggregateid,
                    event_id=row.id,
                    body=row.payload,
                )
                for row in batch.rows
            ]
            try:
                await self._publisher.publish(messages)
            except PublishFailed as failed:
                self._metrics.relay_errors.inc()
                log.warning("publishing %d events failed: %s", len(messages), failed)
                raise
            await batch.mark_published(self._clock.now())
        self._metrics.outbox_published.inc(len(messages))
        return len(messages)

    async def _observe_lag(self) -> None:
        unpublished, age = await self._store.lag(self._clock.now())
        self._metrics.outbox_unpublished.set(unpublished)
        self._metrics.outbox_lag_seconds.set(age)

    def worker(self, poll_seconds: float) -> Worker:
        return Worker("relay", self.publish_batch, poll_seconds)
