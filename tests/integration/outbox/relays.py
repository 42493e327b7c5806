"""Several relays at once on one database, as several `sunap worker` processes would run them:
each with its own publisher (its own broker connection) and its own worker loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.sql.outbox import SqlOutboxStore
from sunap.adapters.system import SystemClock
from sunap.application.ports.messaging import EventPublisher
from sunap.entrypoints.metrics import Metrics
from sunap.entrypoints.workers.loop import WorkerGroup
from sunap.entrypoints.workers.relay import OutboxRelay

POLL_SECONDS = 0.02
PATIENCE = 60.0  # seconds before waiting for an empty outbox gives up instead of hanging


@asynccontextmanager
async def running_relays(
    engine: AsyncEngine,
    publishers: list[EventPublisher],
    metrics: Metrics,
    *,
    topic_prefix: str,
    batch_size: int = 50,
) -> AsyncIterator[list[OutboxRelay]]:
    """Start one relay per publisher; stop them and close the publishers on the way out."""
    relays = [
        OutboxRelay(
            SqlOutboxStore(engine),
            publisher,
            SystemClock(),
            metrics,
            topic_prefix=topic_prefix,
            batch_size=batch_size,
            lag_every_seconds=0.2,
        )
        for publisher in publishers
    ]
    for publisher in publishers:
        await publisher.start()
    group = WorkerGroup(
        [relay.worker(POLL_SECONDS, name=f"relay-{n}") for n, relay in enumerate(relays)], metrics
    )
    group.start()
    try:
        yield relays
    finally:
        await group.stop()
        for publisher in publishers:
            await publisher.close()


async def outbox_drained(engine: AsyncEngine) -> None:
    """Wait until no outbox row is left unpublished."""
    store = SqlOutboxStore(engine)
    async with asyncio.timeout(PATIENCE):
        while (await store.lag(SystemClock().now()))[0]:
            await asyncio.sleep(0.05)


async def eventually(condition: Callable[[], bool], patience: float = PATIENCE) -> None:
    async with asyncio.timeout(patience):
        while not condition():
            await asyncio.sleep(0.02)
