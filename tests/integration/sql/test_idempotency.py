"""SqlIdempotencyStore: one owner per (tenant, key); replays byte for byte; stale locks taken over."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.sql.idempotency import SqlIdempotencyStore
from sunap.application.ports.idempotency import ClaimOutcome, StoredResponse
from tests.integration.sql.payments_factory import T0, later
from tests.support.databases import unique

FP = "POST /v1/payments/confirm 3f2a…"
LOCK = later(90)
RESPONSE = StoredResponse(200, b'{"status":"DONE","amount":15000}\n', "application/json")


@pytest.fixture
def store(engine: AsyncEngine) -> SqlIdempotencyStore:
    return SqlIdempotencyStore(engine, retention=timedelta(hours=24))


async def test_the_first_claim_owns_the_key_and_a_repeat_while_running_is_in_flight(
    store: SqlIdempotencyStore,
) -> None:
    tenant, key = unique("tnt"), unique("key")
    assert (await store.claim(tenant, key, FP, T0, LOCK)).outcome is ClaimOutcome.NEW
    assert (await store.claim(tenant, key, FP, later(1), LOCK)).outcome is ClaimOutcome.IN_FLIGHT


async def test_a_finished_key_replays_the_stored_response_byte_for_byte(
    store: SqlIdempotencyStore,
) -> None:
    tenant, key = unique("tnt"), unique("key")
    await store.claim(tenant, key, FP, T0, LOCK)
    await store.finish(tenant, key, RESPONSE)

    claim = await store.claim(tenant, key, FP, later(5), later(95))
    assert claim.outcome is ClaimOutcome.REPLAY and claim.response == RESPONSE
    await store.release(tenant, key)  # a finished answer is not forgotten
    assert (await store.claim(tenant, key, FP, later(6), later(96))).outcome is ClaimOutcome.REPLAY


async def test_the_same_key_with_another_request_is_a_mismatch(store: SqlIdempotencyStore) -> None:
    tenant, key = unique("tnt"), unique("key")
    await store.claim(tenant, key, FP, T0, LOCK)
    other = "POST /v1/payments/confirm 9999…"
    assert (await store.claim(tenant, key, other, later(1), LOCK)).outcome is ClaimOutcome.MISMATCH
    await store.finish(tenant, key, RESPONSE)
    assert (await store.claim(tenant, key, other, later(2), LOCK)).outcome is ClaimOutcome.MISMATCH


async def test_a_stale_lock_is_taken_over(store: SqlIdempotencyStore) -> None:
    tenant, key = unique("tnt"), unique("key")
    await store.claim(tenant, key, FP, T0, lock_until=later(90))
    claim = await store.claim(tenant, key, FP, later(91), lock_until=later(181))
    assert claim.outcome is ClaimOutcome.NEW
    assert (await store.claim(tenant, key, FP, later(92), later(182))).outcome is (
        ClaimOutcome.IN_FLIGHT
    )


async def test_a_released_key_can_be_claimed_again(store: SqlIdempotencyStore) -> None:
    tenant, key = unique("tnt"), unique("key")
    await store.claim(tenant, key, FP, T0, LOCK)
    await store.release(tenant, key)
    assert (await store.claim(tenant, key, FP, later(1), LOCK)).outcome is ClaimOutcome.NEW


async def test_a_key_older_than_the_retention_is_new_again(store: SqlIdempotencyStore) -> None:
    tenant, key = unique("tnt"), unique("key")
    await store.claim(tenant, key, FP, T0, LOCK)
    await store.finish(tenant, key, RESPONSE)
    next_day = T0 + timedelta(hours=25)
    other = "POST /v1/payments/confirm 9999…"
    claim = await store.claim(tenant, key, other, next_day, next_day + timedelta(seconds=90))
    assert claim.outcome is ClaimOutcome.NEW
    assert (await store.claim(tenant, key, other, next_day, next_day)).outcome is (
        ClaimOutcome.IN_FLIGHT
    )


async def test_keys_are_scoped_per_tenant_and_case_sensitive(store: SqlIdempotencyStore) -> None:
    key = unique("Key")
    tenant_a, tenant_b = unique("tnt"), unique("tnt")
    await store.claim(tenant_a, key, FP, T0, LOCK)
    await store.finish(tenant_a, key, RESPONSE)
    assert (await store.claim(tenant_b, key, FP, T0, LOCK)).outcome is ClaimOutcome.NEW
    assert (await store.claim(tenant_a, key.lower(), FP, T0, LOCK)).outcome is ClaimOutcome.NEW


async def test_of_concurrent_claims_of_one_key_exactly_one_is_new(
    store: SqlIdempotencyStore,
) -> None:
    tenant, key = unique("tnt"), unique("key")
    claims = await asyncio.gather(*(store.claim(tenant, key, FP, T0, LOCK) for _ in range(6)))
    outcomes = sorted(c.outcome.value for c in claims)
    assert outcomes == ["in_flight"] * 5 + ["new"]


async def test_a_release_naming_its_lock_frees_that_claim_and_never_a_later_ones(
    store: SqlIdempotencyStore,
) -> None:
    """A holder whose release went through although the database answered with an error may
    try again after another request took the key: naming its own lock, it deletes nothing."""
    tenant, key = unique("tnt"), unique("key")
    first_lock = later(90.123456)  # microseconds: the lock must come back exactly as written
    assert (await store.claim(tenant, key, FP, T0, first_lock)).outcome is ClaimOutcome.NEW
    await store.release(tenant, key, first_lock)
    second_lock = later(100.654321)
    assert (await store.claim(tenant, key, FP, later(10), second_lock)).outcome is ClaimOutcome.NEW

    await store.release(tenant, key, first_lock)  # the first holder, again: not its claim now
    assert (await store.claim(tenant, key, FP, later(11), later(101))).outcome is (
        ClaimOutcome.IN_FLIGHT
    )
    await store.release(tenant, key, second_lock)
    assert (await store.claim(tenant, key, FP, later(12), later(102))).outcome is ClaimOutcome.NEW
