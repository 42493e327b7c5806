"""The outbox relay: publish committed events, then mark them; at least once, in order per payment.

A batch holds its rows until it ends: a database transaction with the rows locked (`FOR UPDATE
SKIP LOCKED`), or on SQLite the relays' turn, with no transaction open while the broker answers
(adapters/sql/outbox.py). So several relays share the work without taking one row twice, and a
payment's next event is only taken once the previous one is marked. A crash or cancellation
between the broker's ack and the mark leaves the batch unmarked and it is published again:
consumers dedupe by event id.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sunap.application.errors import PublishFailed
from sunap.application.ports.messaging import EventPublisher, OutboundMessage
from sunap.application.ports.outbox import OutboxRow, OutboxStore
from sunap.application.ports.system import Clock
from sunap.entrypoints.metrics import Metrics

from .loop import Worker

log = logging.getLogger("sunap.relay")

BATCH_SIZE = 100
# How often the backlog is measured while the relay is busy (it is also measured whenever the
# outbox is found empty): a relay that never catches up must still show its lag.
LAG_EVERY_SECONDS = 5.0


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
        lag_every_seconds: float = LAG_EVERY_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._clock = clock
        self._metrics = metrics
        self._prefix = topic_prefix
        self._batch_size = batch_size
        self._lag_every = lag_every_seconds
        self._monotonic = monotonic
        self._lag_measured_at: float | None = None
        self._failures = 0  # publish attempts failed in a row

    async def publish_batch(self) -> int:
        """Publish one batch; the number of events published (0: nothing to do).

        Raises PublishFailed when the broker did not acknowledge the batch; the rows stay
        unpublished and the worker loop retries after a growing pause."""
        async with self._store.batch(self._batch_size) as batch:
            messages = [self.message_for(row) for row in batch.rows]
            if messages:
                await self._publish(messages)
                await batch.mark_published(self._clock.now())
        if not messages:  # measured with the batch's connection given back: never two at once
            await self._observe_lag()
            return 0
        if self._failures:
            log.info("publishing again after %d failed attempts", self._failures)
            self._failures = 0
        self._metrics.outbox_published.inc(len(messages))
        if self._lag_due():
            await self._observe_lag()
        return len(messages)

    async def _publish(self, messages: list[OutboundMessage]) -> None:
        try:
            await self._publisher.publish(messages)
        except PublishFailed as failed:
            self._failures += 1
            self._metrics.relay_errors.inc()
            log.warning(
                "publishing %d events failed (attempt %d in a row): %s",
                len(messages),
                self._failures,
                failed,
            )
            raise

    def message_for(self, row: OutboxRow) -> OutboundMessage:
        return OutboundMessage(
            topic=f"{self._prefix}{row.type}",
            key=row.aggregateid,
            event_id=row.id,
            body=row.payload,
        )

    def worker(self, poll_seconds: float, name: str = "relay") -> Worker:
        # A broker that does not acknowledge is logged and counted here (relay errors), and the
        # events wait in the outbox: an outage of the broker, not a crash of the worker.
        return Worker(name, self.publish_batch, poll_seconds, reported=(PublishFailed,))

    def _lag_due(self) -> bool:
        return (
            self._lag_measured_at is None
            or self._monotonic() - self._lag_measured_at >= self._lag_every
        )

    async def _observe_lag(self) -> None:
        unpublished, age = await self._store.lag(self._clock.now())
        self._lag_measured_at = self._monotonic()
        self._metrics.outbox_backlog(unpublished, age)
        if unpublished and age >= self._lag_every:
            log.info("outbox backlog: %d unpublished events, oldest %.1fs old", unpublished, age)
