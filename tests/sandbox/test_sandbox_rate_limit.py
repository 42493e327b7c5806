"""`--rate-limit N/min`: Toss's test mode allows 100 requests a minute per API (docs/toss.md 8);
past the limit the sandbox answers 429 (the body Toss sends is unconfirmed:
choices.RATE_LIMITED_CODE)."""

import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.sandbox.flows import advance_clock
from tests.support.sandbox_server import SANDBOX_SECRET_KEY, running_sandbox
from tests.support.service import free_port


@pytest.fixture
async def limited_toss() -> AsyncIterator[httpx.AsyncClient]:
    with running_sandbox(rate_limit_per_minute=3) as url:
        async with httpx.AsyncClient(
            base_url=url, auth=(SANDBOX_SECRET_KEY, ""), timeout=10
        ) as client:
            yield client


async def test_past_the_limit_an_api_answers_429_until_a_minute_has_passed(
    limited_toss: httpx.AsyncClient,
) -> None:
    statuses = [
        (await limited_toss.get("/v1/payments/orders/order-0001")).status_code for _ in range(4)
    ]

    assert statuses == [404, 404, 404, 429]
    limited = await limited_toss.get("/v1/payments/orders/order-0002")
    assert limited.json() == {
        "code": "TOO_MANY_REQUESTS",
        "message": "요청이 너무 많습니다. 잠시 후 다시 시도해주세요.",
    }
    other_api = await limited_toss.get("/v1/payments/some-payment-key")
    assert other_api.status_code == 404  # the limit is per API

    await advance_clock(limited_toss, 60)
    assert (await limited_toss.get("/v1/payments/orders/order-0001")).status_code == 404


async def test_the_limit_counts_per_secret_key(limited_toss: httpx.AsyncClient) -> None:
    for _ in range(3):
        await limited_toss.get("/v1/payments/orders/order-0001")

    other_key = await limited_toss.get(
        "/v1/payments/orders/order-0001", auth=("test_sk_another_merchant_0001", "")
    )

    assert other_key.status_code == 404


async def test_without_a_limit_there_is_none(toss: httpx.AsyncClient) -> None:
    statuses = {(await toss.get("/v1/payments/orders/order-0001")).status_code for _ in range(120)}

    assert statuses == {404}


@pytest.fixture
def toss_sandbox_command(tmp_path: Path) -> Iterator[str]:
    """`toss-sandbox --rate-limit 2/min` as a process of its own."""
    port = free_port()
    command = Path(sys.executable).parent / "toss-sandbox"
    with (tmp_path / "sandbox.log").open("ab") as log:
        process = subprocess.Popen(
            [str(command), "--port", str(port), "--rate-limit", "2/min"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{url}/sandbox/calls", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_the_toss_sandbox_command_takes_a_rate_limit(toss_sandbox_command: str) -> None:
    with httpx.Client(base_url=toss_sandbox_command, auth=(SANDBOX_SECRET_KEY, "")) as toss:
        statuses = [toss.get("/v1/payments/orders/order-0001").status_code for _ in range(3)]

    assert statuses == [404, 404, 429]


def test_a_malformed_rate_limit_is_refused_at_start() -> None:
    command = Path(sys.executable).parent / "toss-sandbox"

    result = subprocess.run(
        [str(command), "--rate-limit", "lots"], capture_output=True, timeout=30, check=False
    )

    assert result.returncode == 2
    assert b"--rate-limit" in result.stderr
