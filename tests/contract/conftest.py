"""One gateway contract, many gateways: each implementation of PaymentGateway is run through
the same behaviours. `gateway_under_test` yields (gateway, pay_in_window), where
`await pay_in_window(order_id, amount, method, fail_with)` is what the customer does in Toss's
window and returns the paymentKey to confirm."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from sunap.adapters.toss import RetryPolicy, open_toss_gateway
from sunap.domain.payment import PaymentMethod
from tests.contract.gateway_under_test import GatewayUnderTest
from tests.fakes.gateway import FakeGateway
from tests.integration.toss.sandbox_control import SandboxControl
from tests.support.sandbox_server import SANDBOX_SECRET_KEY, running_sandbox


@pytest.fixture(scope="module")
def contract_sandbox_url() -> Iterator[str]:
    with running_sandbox() as base_url:
        yield base_url


async def _toss_on_sandbox(base_url: str) -> AsyncIterator[GatewayUnderTest]:
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=10.0) as control_client,
        open_toss_gateway(
            SANDBOX_SECRET_KEY, base_url, retry_policy=RetryPolicy(base_delay=0.01)
        ) as gateway,
    ):
        control = SandboxControl(control_client)
        await control.reset()

        async def pay_in_window(
            order_id: str, amount: int, method: PaymentMethod, fail_with: str | None
        ) -> str:
            return await control.pay_in_window(order_id, amount, method.value, fail_with)

        yield gateway, pay_in_window


async def _fake() -> AsyncIterator[GatewayUnderTest]:
    fake = FakeGateway()

    async def pay_in_window(
        order_id: str, amount: int, method: PaymentMethod, fail_with: str | None
    ) -> str:
        return fake.pay_in_window(order_id, amount, method, fail_with)

    yield fake, pay_in_window


@pytest.fixture(params=["toss-on-sandbox", "fake"])
async def gateway_under_test(
    request: pytest.FixtureRequest,
) -> AsyncIterator[GatewayUnderTest]:
    if request.param == "toss-on-sandbox":
        base_url: str = request.getfixturevalue("contract_sandbox_url")
        async for pair in _toss_on_sandbox(base_url):
            yield pair
    else:
        async for pair in _fake():
            yield pair
