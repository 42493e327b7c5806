"""SqlOutboxStore: oldest first, one aggregate's events in order, and two relays never share a row."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.sql.outbox import SqlOutboxStore
from sunap.adapters.sql.tables import outbox
from sunap.application.ports.outbox import OutboxRow
from tests.integration.sql.payments_factory import T0, later
from tests.support.databases import unique


async def add_events(engine: AsyncEngine, events: list[tuple[str, int]]) -> None:
    """(payment id, sequence) in commit order, one transaction each as the unit of work does."""
    for payment_id, sequence in events:
        async with engine.begin() as conn:
            await conn.execute(
                insert(outbox).values(
                    id=unique("evt"),
                    aggregatetype="payment",
                    aggregateid=payment_id,
                    type="payment.completed",
                    payload={"subject": payment_id, "sequence": sequence},
                    created_at=later(sequence),
                )
            )


def sequences(rows: list[OutboxRow]) -> list[tuple[str, int]]:
    return [(r.aggregateid, json.loads(r.payload)["sequence"]) for r in rows]


async def test_a_batch_takes_the_oldest_row_of_each_payment_only(fresh_engine: AsyncEngine) -> None:
    store = SqlOutboxStore(fresh_engine)
    await add_events(fresh_engine, [("pay_a", 1), ("pay_b", 1), ("pay_a", 2), ("pay_c", 1)])

    async with store.batch(10) as batch:
        assert sequences(batch.rows) == [("pay_a", 1), ("pay_b", 1), ("pay_c", 1)]
        assert all(
            r.aggregatetype == "payment" and r.type == "payment.completed" for r in batch.rows
        )
        await batch.mark_published(later(100))

    async with store.batch(10) as batch:
        assert sequences(batch.rows) == [("pay_a", 2)]
        await batch.mark_published(later(101))

    async with store.batch(10) as batch:
        assert batch.rows == []


async def test_rows_not_marked_published_stay_unpublished(fresh_engine: AsyncEngine) -> None:
    store = SqlOutboxStore(fresh_engine)
    await add_events(fresh_engine, [("pay_a", 1), ("pay_b", 1)])

    async with store.batch(10) as batch:
        assert len(batch.rows) == 2  # the broker did not acknowledge: not marked
    with pytest.raises(RuntimeError):
        async with store.batch(10) as batch:
            await batch.mark_published(later(100))
            raise RuntimeError("the relay crashed before commit")

    async with store.batch(1) as batch:
        assert sequences(batch.rows) == [("pay_a", 1)]


async def test_lag_counts_unpublished_rows_and_the_age_of_the_oldest(
    fresh_engine: AsyncEngine,
) -> None:
    store = SqlOutboxStore(fresh_engine)
    assert await store.lag(T0) == (0, 0.0)
    await add_events(fresh_engine, [("pay_a", 1), ("pay_a", 2), ("pay_b", 3)])

    assert await store.lag(later(31)) == (3, 30.0)
    async with store.batch(1) as batch:
        await batch.mark_published(later(40))
    assert await store.lag(later(42)) == (2, 40.0)


async def test_two_relays_never_take_one_row_and_keep_each_payments_order(
    backend: str, fresh_engine: AsyncEngine
) -> None:
    payments = [f"pay_{n:02d}" for n in range(12)]
    # Interleaved commits: every payment's events are spread through the table.
    await add_events(fresh_engine, [(p, seq) for seq in range(1, 5) for p in payments])
    relays = [SqlOutboxStore(fresh_engine), SqlOutboxStore(fresh_engine)]
    published: list[tuple[str, int]] = []
    # Both relays hold their batch open at once, except on SQLite where they take turns.
    both_open = asyncio.Barrier(1 if backend == "sqlite" else 2)

    async def round_of(relay: SqlOutboxStore) -> list[OutboxRow]:
        async with relay.batch(5) as batch:
            await both_open.wait()
            published.extend(sequences(batch.rows))
            await batch.mark_published(later(1000))
            return batch.rows

    while True:
        first, second = await asyncio.gather(*(round_of(r) for r in relays))
        taken = [r.seq for r in first + second]
        assert len(taken) == len(set(taken)), "two relays took the same row"
        in_flight = [r.aggregateid for r in first + second]
        assert len(in_flight) == len(set(in_flight)), "two events of one payment at once"
        if not taken:
            break

    assert sorted(published) == sorted((p, s) for p in payments for s in range(1, 5))
    for payment in payments:
        assert [s for p, s in published if p == payment] == [1, 2, 3, 4]


@pytest.mark.holds_two_connections
async def test_the_lag_can_be_read_while_another_relay_holds_a_batch(
    fresh_engine: AsyncEngine,
) -> None:
    store = SqlOutboxStore(fresh_engine)
    await add_events(fresh_engine, [("pay_a", 1)])
    async with store.batch(10) as batch:
        # Another worker's relay measuring the backlog: on SQLite a read that waited for the
        # write lock would wait on this batch.
        assert await store.lag(later(11)) == (1, 10.0)
        await batch.mark_published(later(12))
    assert await store.lag(later(13)) == (0, 0.0)


async def test_a_payload_keeps_what_the_standard_json_encoder_takes(
    fresh_engine: AsyncEngine,
) -> None:
    """JSON columns go through orjson (adapters/sql/json_text.py), which refuses integers past
    64 bits: such a value is still stored and read back, and non-text keys become text."""
    payload = {"subject": "pay_big", "sequence": 1, "big": 2**70, "name": "생수", 7: "seven"}
    async with fresh_engine.begin() as conn:
        await conn.execute(
            insert(outbox).values(
                id=unique("evt"), aggregatetype="payment", aggregateid="pay_big",
                type="payment.completed", payload=payload, created_at=later(1),
            )
        )  # fmt: skip
    async with SqlOutboxStore(fresh_engine).batch(10) as batch:
        [row] = batch.rows
    expected = {"subject": "pay_big", "sequence": 1, "big": 2**70, "name": "생수", "7": "seven"}
    assert json.loads(row.payload) == expected
