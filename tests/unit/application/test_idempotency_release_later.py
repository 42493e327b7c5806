"""A claimed Idempotency-Key whose release (or finish) the store refused, as when the database
goes away while the request ends: it is released in the background once the store answers
again, so the merchant's retry runs instead of being told for LOCK_TIMEOUT that a request long
over still runs; never once the claim could have lapsed and been taken over by another."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from sunap.application import idempotency
from sunap.application.idempotency import (
    LOCK_TIMEOUT,
    IdempotentCall,
    fingerprint,
    run_idempotently,
)
from sunap.application.ports.idempotency import ClaimOutcome, StoredResponse
from sunap.domain.errors import SunapError
from tests.fakes.clock import FakeClock
from tests.fakes.idempotency import InMemoryIdempotencyStore

TENANT = "tenant_a"
CALL = IdempotentCall(TENANT, "key-1", fingerprint("POST /v1/payments/x/cancel", b"{}"))


class DatabaseGone(Exception):
    pass


class StoreWithOutage(InMemoryIdempotencyStore):
    """Refuses `outage` releases (and finishes) before it answers again."""

    def __init__(self, outage: int) -> None:
        super().__init__()
        self.outage = outage

    async def release(self, tenant_id: str, key: str, held_until: datetime | None = None) -> None:
        if self.outage:
            self.outage -= 1
            raise DatabaseGone("the database went away")
        await super().release(tenant_id, key, held_until)

    async def finish(self, tenant_id: str, key: str, response: StoredResponse) -> None:
        if self.outage:
            self.outage -= 1
            raise DatabaseGone("the database went away")
        await super().finish(tenant_id, key, response)


class Door:
    async def render(self, outcome: str | SunapError) -> StoredResponse:
        return StoredResponse(200, str(outcome).encode(), "text/plain")

    async def send(self, response: StoredResponse, *, replayed: bool) -> bytes:
        return response.body


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(idempotency, "RELEASE_RETRIES", (0.0, 0.0, 0.0, 0.0))


async def settled() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def claim_again(store: InMemoryIdempotencyStore, clock: FakeClock) -> ClaimOutcome:
    now: datetime = clock.now()
    return (await store.claim(TENANT, CALL.key or "", CALL.fingerprint, now, now)).outcome


async def test_a_release_refused_as_the_request_fails_is_made_once_the_store_answers() -> None:
    store, clock = StoreWithOutage(outage=2), FakeClock()

    async def execute() -> str:
        raise DatabaseGone("the database went away mid-request")

    with pytest.raises(DatabaseGone):
        await run_idempotently(CALL, store, clock, execute, Door())
    await settled()

    assert store.outage == 0 and len(store) == 0  # released: the retry runs
    assert await claim_again(store, clock) is ClaimOutcome.NEW


async def test_a_finish_refused_releases_the_key_so_that_a_retry_runs_again() -> None:
    store, clock = StoreWithOutage(outage=1), FakeClock()

    async def execute() -> str:
        return "refunded"

    with pytest.raises(DatabaseGone):
        await run_idempotently(CALL, store, clock, execute, Door())
    await settled()

    assert await claim_again(store, clock) is ClaimOutcome.NEW


async def test_a_claim_that_may_have_lapsed_is_left_to_whoever_took_it_over() -> None:
    store, clock = StoreWithOutage(outage=2), FakeClock()

    async def execute() -> str:
        clock.advance(LOCK_TIMEOUT)  # the request ran until its claim lapsed
        raise DatabaseGone("the database went away mid-request")

    with pytest.raises(DatabaseGone):
        await run_idempotently(CALL, store, clock, execute, Door())
    await settled()

    assert store.outage == 1 and len(store) == 1  # no release tried: it is not ours to free


class StoreLosingAnswers(InMemoryIdempotencyStore):
    """Its first release goes through, then the answer is lost (the connection dropped after
    the DELETE committed): the caller sees an error."""

    lost = 1

    async def release(self, tenant_id: str, key: str, held_until: datetime | None = None) -> None:
        await super().release(tenant_id, key, held_until)
        if self.lost:
            self.lost -= 1
            raise DatabaseGone("the connection dropped after COMMIT")


async def test_a_release_that_went_through_never_frees_the_claim_a_retry_took_since() -> None:
    store, clock = StoreLosingAnswers(), FakeClock()

    async def execute() -> str:
        raise DatabaseGone("the database went away mid-request")

    with pytest.raises(DatabaseGone):
        await run_idempotently(CALL, store, clock, execute, Door())
    clock.advance(seconds=1)
    retry_runs, retry_may_end = asyncio.Event(), asyncio.Event()

    async def refund() -> str:
        retry_runs.set()
        await retry_may_end.wait()
        return "refunded"

    retry = asyncio.create_task(run_idempotently(CALL, store, clock, refund, Door()))
    await retry_runs.wait()  # the retry holds the key: the first claim's row was gone
    await settled()  # the first request's background release runs meanwhile

    assert await claim_again(store, clock) is ClaimOutcome.IN_FLIGHT  # the retry's claim stands
    retry_may_end.set()
    assert await retry == b"refunded"
