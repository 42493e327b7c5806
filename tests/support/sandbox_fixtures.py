"""Fixtures for tests that drive a sandbox over HTTP: one sandbox per test module, with no
webhook URL (Sunap hears nothing unless it asks), and a client holding the merchant's secret key:
the sandbox as the customer, Toss's console and Toss's own API see it. A conftest imports them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.sql.unit_of_work import sql_unit_of_work_factory
from sunap.adapters.system import RandomIds, SystemClock
from sunap.adapters.toss import RetryPolicy
from sunap.adapters.toss.gateway import build_toss_gateway
from sunap.adapters.toss.webhooks import TossWebhooks
from sunap.application.deps import Deps
from sunap.application.envelope import EnvelopeFactory
from sunap.application.ports.system import Clock
from tests.fakes.accounts import OneGatewayAccounts
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


@asynccontextmanager
async def deps_on_sandbox(
    engine: AsyncEngine,
    sandbox_url: str,
    *,
    clock: Clock | None = None,
    retry_policy: RetryPolicy | None = None,
) -> AsyncIterator[Deps]:
    """The use cases' dependencies on a real database, with Sunap's own Toss gateway speaking to
    the sandbox over HTTP (with the service's retries unless `retry_policy` says otherwise)."""
    clock, ids = clock or SystemClock(), RandomIds()
    options = {} if retry_policy is None else {"retry_policy": retry_policy}
    gateway, client = build_toss_gateway(SANDBOX_SECRET_KEY, sandbox_url, **options)
    try:
        yield Deps(
            uow=sql_unit_of_work_factory(engine, EnvelopeFactory(ids, clock)),
            accounts=OneGatewayAccounts(gateway),
            clock=clock,
            ids=ids,
            webhook_format=TossWebhooks(),
        )
    finally:
        await client.aclose()
