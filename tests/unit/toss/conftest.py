"""Fixtures for the Toss adapter's unit tests: a scripted fake Toss and a controlled clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from sunap.adapters.toss import CircuitBreaker, RetryPolicy, TossGateway, TossTimeouts
from tests.unit.toss.toss_fakes import BASE_URL, DOC_SECRET_KEY, FakeClock, FakeToss, Sleeps


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleeps(clock: FakeClock) -> Sleeps:
    return Sleeps(clock)


@pytest.fixture
def toss() -> FakeToss:
    return FakeToss()


GatewayFactory = Callable[..., TossGateway]


@pytest.fixture
async def make_gateway(
    toss: FakeToss, clock: FakeClock, sleeps: Sleeps
) -> AsyncIterator[GatewayFactory]:
    clients: list[httpx.AsyncClient] = []

    def build(
        *,
        retry_policy: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        timeouts: TossTimeouts | None = None,
    ) -> TossGateway:
        client = httpx.AsyncClient(transport=httpx.MockTransport(toss.handle))
        clients.append(client)
        return TossGateway(
            client,
            secret_key=DOC_SECRET_KEY,
            base_url=BASE_URL,
            clock=clock,
            retry_policy=retry_policy or RetryPolicy(sleep=sleeps, random=lambda: 0.5),
            breaker=breaker,
            timeouts=timeouts or TossTimeouts(),
        )

    yield build
    for client in clients:
        await client.aclose()


@pytest.fixture
def gateway(make_gateway: GatewayFactory) -> TossGateway:
    return make_gateway()
