"""The Toss adapter against the real sandbox over HTTP: one sandbox per module, reset per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from sunap.adapters.toss import (
    CircuitBreaker,
    RetryPolicy,
    TossGateway,
    TossTimeouts,
    build_toss_gateway,
)
from tests.integration.toss.sandbox_control import SandboxControl
from tests.support.sandbox_server import SANDBOX_SECRET_KEY, running_sandbox

# Short pauses and timeouts so failure paths run quickly; the shapes are the production ones.
FAST_RETRIES = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05, max_elapsed=10.0)
FAST_TIMEOUTS = TossTimeouts(connect=1.0, read=5.0, write=1.0, pool=1.0, billing_read=5.0)


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    with running_sandbox() as base_url:
        yield base_url


@pytest.fixture
async def sandbox(sandbox_url: str) -> AsyncIterator[SandboxControl]:
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=10.0) as client:
        control = SandboxControl(client)
        await control.reset()
        yield control
        await control.clear_faults()


@pytest.fixture
async def open_gateway(sandbox_url: str) -> AsyncIterator[GatewayOpener]:
    opener = GatewayOpener(sandbox_url)
    yield opener
    await opener.close()


class GatewayOpener:
    """Builds gateways on the sandbox and closes their clients when the test ends."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._clients: list[httpx.AsyncClient] = []

    def __call__(
        self,
        *,
        secret_key: str = SANDBOX_SECRET_KEY,
        retry_policy: RetryPolicy = FAST_RETRIES,
        breaker: CircuitBreaker | None = None,
        timeouts: TossTimeouts = FAST_TIMEOUTS,
    ) -> TossGateway:
        gateway, client = build_toss_gateway(
            secret_key, self.base_url, retry_policy=retry_policy, breaker=breaker, timeouts=timeouts
        )
        self._clients.append(client)
        return gateway

    async def close(self) -> None:
        for client in self._clients:
            await client.aclose()


@pytest.fixture
def gateway(open_gateway: GatewayOpener) -> TossGateway:
    return open_gateway()
