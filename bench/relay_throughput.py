"""Outbox relay benchmark: how fast the relay drains a backlog, and how long a committed event
waits before the broker acknowledges it.

For each database × publisher it runs two phases on a fresh, migrated database:
- backlog: N events already committed (N/10 payments × 10 events), then R relays drain them;
  reports events per second.
- live: writers commit M events one transaction each (as the unit of work does, a payment's
  events in order) while R relays run; reports commit-to-ack lag p50 / p95 / max, measured from
  the writer's commit returning to the publisher's `publish` returning (the broker's ack).

    .venv/bin/python bench/relay_throughput.py [--events 5000] [--live-events 1000]
        [--relays 2] [--databases sqlite,postgresql,mariadb] [--publishers redis,log]

PostgreSQL at SUNAP_BENCH_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres),
MariaDB at SUNAP_BENCH_MARIADB_URL (default mysql://root@127.0.0.1:3306/test), Redis at
SUNAP_BENCH_REDIS_URL (default redis://127.0.0.1:6379/0). Every database and stream it creates
is removed afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis.asyncio as redis
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from sunap.adapters.brokers.log import LogPublisher
from sunap.adapters.brokers.redis_streams import RedisStreamsPublisher
from sunap.adapters.sql.engine import async_url, create_engine
from sunap.adapters.sql.migrate import upgrade_async
from sunap.adapters.sql.outbox import SqlOutboxStore
from sunap.adapters.sql.tables import outbox
from sunap.adapters.system import SystemClock
from sunap.application.ports.messaging import EventPublisher, OutboundMessage
from sunap.entrypoints.metrics import Metrics
from sunap.entrypoints.workers.loop import WorkerGroup
from sunap.entrypoints.workers.relay import OutboxRelay

POSTGRES = os.environ.get(
    "SUNAP_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
MARIADB = os.environ.get("SUNAP_BENCH_MARIADB_URL", "mysql://root@127.0.0.1:3306/test")
REDIS = os.environ.get("SUNAP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
EVENTS_PER_PAYMENT = 10
POLL_SECONDS = 0.05
BATCH_SIZE = 100
WRITERS = 8
TYPES = ("payment.created", "payment.completed") + ("payment.partially_canceled",) * 8


@dataclass(frozen=True)
class Result:
    database: str
    publisher: str
    events: int
    seconds: float
    live_events: int
    lags: list[float]

    def row(self) -> str:
        lags = sorted(self.lags)
        p50 = statistics.median(lags) * 1000
        p95 = lags[int(0.95 * (len(lags) - 1))] * 1000
        return (
            f"| {self.database} | {self.publisher} | {self.events} | "
            f"{self.events / self.seconds:,.0f} | {self.live_events} | "
            f"{p50:.1f} | {p95:.1f} | {lags[-1] * 1000:.1f} |"
        )


class AckTimes:
    """A publisher that notes when the broker acknowledged each event."""

    def __init__(self, publisher: EventPublisher) -> None:
        self._publisher = publisher
        self.acked: dict[str, float] = {}

    async def start(self) -> None:
        await self._publisher.start()

    async def publish(self, messages: Sequence[OutboundMessage]) -> None:
        await self._publisher.publish(messages)
        now = time.perf_counter()
        for message in messages:
            self.acked.setdefault(message.event_id, now)

    async def close(self) -> None:
        await self._publisher.close()


def envelope(payment_id: str, sequence: int, event_type: str) -> dict[str, Any]:
    """About the size of a real payment event."""
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "sunap",
        "type": event_type,
        "subject": payment_id,
        "time": datetime.now(UTC).isoformat(),
        "datacontenttype": "application/json",
        "sequence": sequence,
        "data": {
            "id": payment_id,
            "orderId": f"order-{payment_id}",
            "orderName": "Coffee beans 1kg and a grinder",
            "status": "DONE",
            "amount": 150000,
            "balanceAmount": 150000 - 1000 * sequence,
            "currency": "KRW",
            "method": "CARD",
            "paymentKey": f"tgen_{payment_id}",
            "customerKey": "cust-bench",
            "card": {"company": "현대", "number": "433012******1234", "cardType": "신용"},
            "cancels": [{"cancelAmount": 1000, "cancelReason": "bench"}] * max(0, sequence - 2),
        },
    }


def row(payment_id: str, sequence: int) -> dict[str, Any]:
    event = envelope(payment_id, sequence, TYPES[(sequence - 1) % len(TYPES)])
    return {
        "id": event["id"],
        "aggregatetype": "payment",
        "aggregateid": payment_id,
        "type": event["type"],
        "payload": event,
        "created_at": datetime.now(UTC),
    }


@asynccontextmanager
async def fresh_database(name: str, tmp: Path) -> AsyncIterator[AsyncEngine]:
    db = f"sunap_bench_{uuid.uuid4().hex[:10]}"
    server = {"postgresql": POSTGRES, "mariadb": MARIADB}.get(name)
    if server is None:
        url = f"sqlite+aiosqlite:///{tmp / (db + '.db')}"
    else:
        quote = '"' if name == "postgresql" else "`"
        await admin(server, f"CREATE DATABASE {quote}{db}{quote}")
        url = make_url(server).set(database=db).render_as_string(hide_password=False)
    try:
        await upgrade_async(url)
        engine = create_engine(url)
        try:
            yield engine
        finally:
            await engine.dispose()
    finally:
        if name == "postgresql":
            await admin(POSTGRES, f'DROP DATABASE "{db}" WITH (FORCE)')
        elif name == "mariadb":
            await admin(MARIADB, f"DROP DATABASE `{db}`")


async def admin(server: str, statement: str) -> None:
    engine = create_async_engine(async_url(server), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


def publisher_for(name: str) -> EventPublisher:
    return RedisStreamsPublisher(REDIS) if name == "redis" else LogPublisher()


@asynccontextmanager
async def relays(
    engine: AsyncEngine, publishers: list[EventPublisher], prefix: str
) -> AsyncIterator[None]:
    metrics = Metrics()
    workers = [
        OutboxRelay(
            SqlOutboxStore(engine),
            p,
            SystemClock(),
            metrics,
            topic_prefix=prefix,
            batch_size=BATCH_SIZE,
        ).worker(POLL_SECONDS, name=f"relay-{n}")
        for n, p in enumerate(publishers)
    ]
    for publisher in publishers:
        await publisher.start()
    group = WorkerGroup(workers, metrics)
    group.start()
    try:
        yield
    finally:
        await group.stop()
        for publisher in publishers:
            await publisher.close()


async def drained(engine: AsyncEngine) -> None:
    store = SqlOutboxStore(engine)
    while (await store.lag(datetime.now(UTC)))[0]:
        await asyncio.sleep(0.01)


async def backlog_phase(engine: AsyncEngine, publisher: str, events: int, n_relays: int) -> float:
    payments = [f"pay_b{n:06d}" for n in range(max(1, events // EVENTS_PER_PAYMENT))]
    rows = [row(p, sequence) for sequence in range(1, EVENTS_PER_PAYMENT + 1) for p in payments][
        :events
    ]
    async with engine.begin() as conn:
        for start in range(0, len(rows), 1000):
            await conn.execute(insert(outbox), rows[start : start + 1000])
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    started = time.perf_counter()
    try:
        async with relays(engine, [publisher_for(publisher) for _ in range(n_relays)], prefix):
            await drained(engine)
            seconds = time.perf_counter() - started
    finally:
        await forget_streams(publisher, prefix)
    return seconds


async def live_phase(
    engine: AsyncEngine, publisher: str, events: int, n_relays: int
) -> list[float]:
    committed: dict[str, float] = {}
    ack_times = [AckTimes(publisher_for(publisher)) for _ in range(n_relays)]
    payments = [f"pay_l{n:06d}" for n in range(max(1, events // EVENTS_PER_PAYMENT))]
    per_writer = [payments[n::WRITERS] for n in range(WRITERS)]

    async def writer(mine: list[str]) -> None:
        for sequence in range(1, EVENTS_PER_PAYMENT + 1):
            for payment_id in mine:
                event = row(payment_id, sequence)
                async with engine.begin() as conn:
                    await conn.execute(insert(outbox).values(event))
                committed[event["id"]] = time.perf_counter()

    prefix = f"bench{uuid.uuid4().hex[:8]}."
    try:
        async with relays(engine, list(ack_times), prefix):
            await asyncio.gather(*(writer(mine) for mine in per_writer))
            await drained(engine)
    finally:
        await forget_streams(publisher, prefix)
    acked: dict[str, float] = {}
    for times in ack_times:
        for event_id, at in times.acked.items():
            acked[event_id] = min(at, acked.get(event_id, at))
    return [acked[event_id] - at for event_id, at in committed.items()]


async def forget_streams(publisher: str, prefix: str) -> None:
    if publisher != "redis":
        return
    client = redis.Redis.from_url(REDIS)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


async def measure(args: argparse.Namespace) -> list[Result]:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for database in args.databases.split(","):
            for publisher in args.publishers.split(","):
                async with fresh_database(database, Path(tmp)) as engine:
                    seconds = await backlog_phase(engine, publisher, args.events, args.relays)
                    lags = await live_phase(engine, publisher, args.live_events, args.relays)
                result = Result(database, publisher, args.events, seconds, len(lags), lags)
                print(result.row(), flush=True)
                results.append(result)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000, help="backlog to drain")
    parser.add_argument("--live-events", type=int, default=1000, help="events for the lag")
    parser.add_argument("--relays", type=int, default=2)
    parser.add_argument("--databases", default="sqlite,postgresql,mariadb")
    parser.add_argument("--publishers", default="redis,log")
    args = parser.parse_args()
    print(
        f"relay benchmark: {args.relays} relays, batch {BATCH_SIZE}, poll {POLL_SECONDS}s, "
        f"{WRITERS} writers; Python {platform.python_version()}, {os.cpu_count()} CPUs\n"
    )
    print(
        "| database | publisher | backlog events | events/s | live events "
        "| lag p50 ms | lag p95 ms | lag max ms |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    started = time.perf_counter()
    asyncio.run(measure(args))
    print(f"\n(done in {time.perf_counter() - started:.0f}s)")


if __name__ == "__main__":
    main()
