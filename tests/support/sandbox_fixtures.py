"""Fixtures for tests that drive a sandbox over HTTP: one sandbox per test module, with no
webhook URL (Sunap hears nothing unless it asks), and a client holding the merchant's secret key:
the sandbox as the customer, Toss's console and Toss's own API see it. A conftest imports them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.support.sandbox_server import SANDBOX_SECRET_KEY, running_sandbox


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    with running_sandbox() as base_url:
        yield base_url


@pytest.fixture
async def toss(sandbox_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=sandbox_url, auth=(SANDBOX_SECRET_KEY, ""), timeout=10
    ) as client:
        yield client
        (await client.delete("/sandbox/faults")).raise_for_status()  # none left for the next
