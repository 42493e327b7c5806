from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.sandbox.receiver import WebhookReceiver
from tests.support.sandbox_server import SANDBOX_SECRET_KEY, running_sandbox

# Webhook retries in tests: Toss's "1 minute" lasts 0.06 s.
FAST_RETRIES = 1 / 1000


@pytest.fixture
def sandbox_url() -> Iterator[str]:
    with running_sandbox() as url:
        yield url


@pytest.fixture
async def toss(sandbox_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=sandbox_url, auth=(SANDBOX_SECRET_KEY, ""), timeout=10
    ) as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver.running() as running:
        yield running


@pytest.fixture
async def hooked_toss(receiver: WebhookReceiver) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a sandbox that delivers its webhooks to `receiver`, retrying fast."""
    with running_sandbox(webhook_url=receiver.url, webhook_time_scale=FAST_RETRIES) as url:
        async with httpx.AsyncClient(
            base_url=url, auth=(SANDBOX_SECRET_KEY, ""), timeout=10
        ) as client:
            yield client
