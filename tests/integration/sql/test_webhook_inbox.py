"""SqlWebhookInbox: a delivery is stored once, processed by one processor at a time, and retried."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.sql.webhook_inbox import SqlWebhookInbox
from sunap.application.ports.webhook_inbox import DeliveryStatus, Recorded, WebhookDelivery
from tests.integration.sql.payments_factory import T0, later
from tests.support.databases import unique

BODY = b'{"eventType":"PAYMENT_STATUS_CHANGED","data":{"paymentKey":"tpk_1","status":"DONE"}}'


def delivery(n: int = 0, dedup_key: str | None = None) -> WebhookDelivery:
    return WebhookDelivery(
        id=unique("whd"),
        dedup_key=dedup_key or unique("default:tpk_1:DONE"),
        pg_account_id="default",
        event_type="PAYMENT_STATUS_CHANGED",
        headers={"content-type": "application/json", "user-agent": "TossPayments"},
        body=BODY + b"\x00\xff" * n,
        received_at=later(n),
    )


async def test_a_delivery_is_stored_once_per_dedup_key_with_its_body(
    fresh_engine: AsyncEngine,
) -> None:
    inbox = SqlWebhookInbox(fresh_engine)
    first = delivery(3)
    assert await inbox.record(first) == Recorded(first.id, 0)
    # A repeat names the delivery kept, the one stored first.
    assert await inbox.record(delivery(4, dedup_key=first.dedup_key)) == Recorded(first.id, 1)
    other = delivery(5, dedup_key=first.dedup_key.upper())
    assert await inbox.record(other) == Recorded(other.id, 0)

    stored = await inbox.get(first.id)
    assert stored == first
    assert await inbox.get(unique("whd")) is None


async def test_two_processors_never_claim_the_same_delivery(fresh_engine: AsyncEngine) -> None:
    inbox = SqlWebhookInbox(fresh_engine)
    recorded = [delivery(n) for n in range(10)]
    for d in recorded:
        await inbox.record(d)

    claimed: list[str] = []
    while True:
        batches = await asyncio.gather(
            *(inbox.claim_due(later(60), lease_until=later(120), limit=4) for _ in range(3))
        )
        if not any(batches):
            break
        claimed += [d.id for batch in batches for d in batch]
        assert all(d.attempts == 1 for batch in batches for d in batch)
    # MariaDB may skip rows another claimer merely looked at; what matters is that none is
    # claimed twice and none is left behind.
    assert sorted(claimed) == sorted(d.id for d in recorded)
    # Leased: nobody else gets them until the lease runs out.
    assert await inbox.claim_due(later(61), lease_until=later(121), limit=10) == []
    again = await inbox.claim_due(later(121), lease_until=later(181), limit=10)
    assert {d.id for d in again} == {d.id for d in recorded}
    assert all(d.attempts == 2 for d in again)


async def test_a_settled_delivery_is_done_and_a_retried_one_waits_for_its_time(
    fresh_engine: AsyncEngine,
) -> None:
    inbox = SqlWebhookInbox(fresh_engine)
    applied, retried = delivery(1), delivery(2)
    await inbox.record(applied)
    await inbox.record(retried)
    await inbox.claim_due(later(10), lease_until=later(70), limit=10)

    await inbox.settle(applied.id, status=DeliveryStatus.APPLIED, now=later(11), payment_id="pay_1")
    await inbox.settle(
        retried.id,
        status=DeliveryStatus.FAILED,
        now=later(12),
        error="Toss lookup timed out",
        retry_at=later(300),
    )

    done = await inbox.get(applied.id)
    assert done is not None and done.status is DeliveryStatus.APPLIED
    assert done.payment_id == "pay_1" and done.processed_at == later(11)
    waiting = await inbox.get(retried.id)
    assert waiting is not None and waiting.status is DeliveryStatus.RECEIVED
    assert waiting.last_error == "Toss lookup timed out" and waiting.next_attempt_at == later(300)
    assert await inbox.claim_due(later(299), lease_until=later(400), limit=10) == []
    assert [d.id for d in await inbox.claim_due(later(300), later(400), 10)] == [retried.id]


async def test_an_operator_requeues_a_processed_delivery_but_not_a_leased_one(
    fresh_engine: AsyncEngine,
) -> None:
    inbox = SqlWebhookInbox(fresh_engine)
    failed, busy = delivery(1), delivery(2)
    await inbox.record(failed)
    await inbox.claim_due(later(10), lease_until=later(70), limit=1)
    await inbox.settle(failed.id, status=DeliveryStatus.FAILED, now=later(11), error="boom")
    await inbox.record(busy)
    await inbox.claim_due(later(12), lease_until=later(72), limit=1)

    assert await inbox.requeue(failed.id, later(20))
    assert not await inbox.requeue(busy.id, later(20))
    assert not await inbox.requeue(unique("whd"), later(20))
    requeued = await inbox.get(failed.id)
    assert requeued is not None and requeued.status is DeliveryStatus.RECEIVED
    assert requeued.processed_at is None
    assert [d.id for d in await inbox.claim_due(later(20), later(80), 10)] == [failed.id]


async def test_recent_deliveries_come_newest_first(fresh_engine: AsyncEngine) -> None:
    inbox = SqlWebhookInbox(fresh_engine)
    recorded = [delivery(n) for n in range(3)]
    for d in recorded:
        await inbox.record(d)
    assert [d.id for d in await inbox.recent(2)] == [recorded[2].id, recorded[1].id]
    assert recorded[2].received_at > T0


async def test_a_repeated_delivery_is_counted_not_stored(fresh_engine: AsyncEngine) -> None:
    inbox = SqlWebhookInbox(fresh_engine)
    first = delivery(1)
    assert await inbox.record(first) == Recorded(first.id, 0)
    repeats = [await inbox.record(delivery(2, dedup_key=first.dedup_key)) for _ in range(3)]
    assert repeats == [Recorded(first.id, n) for n in (1, 2, 3)]
    assert [d.id for d in await inbox.recent(10)] == [first.id]


async def test_deliveries_older_than_the_cutoff_are_pruned_in_batches(
    fresh_engine: AsyncEngine,
) -> None:
    inbox = SqlWebhookInbox(fresh_engine)
    old = [delivery(n) for n in range(5)]
    new = [delivery(n) for n in range(100, 103)]
    for d in old + new:
        assert (await inbox.record(d)).repeats == 0
    assert await inbox.prune(later(50), limit=3) == 3
    assert await inbox.prune(later(50), limit=3) == 2
    assert await inbox.prune(later(50), limit=3) == 0
    kept = {d.id for d in await inbox.recent(100)}
    assert kept == {d.id for d in new}
    # A pruned delivery's key is free again: if it ever came back it would be applied anew
    # (harmless: the processor asks the PG, and payments only move forward).
    assert (await inbox.record(delivery(200, dedup_key=old[0].dedup_key))).repeats == 0
