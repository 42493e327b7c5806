"""The pytest plugin (entry point `pytest11`): a `toss_sandbox` fixture for any project's tests.

    def test_confirm(toss_sandbox):
        payment_key = toss_sandbox.open_payment(order_id="order-1", amount=15000)
        answer = httpx.post(f"{toss_sandbox.url}/v1/payments/confirm", ...)

One sandbox serves the whole session (starting it costs a fraction of a second); each test gets
it freshly reset. Override the `toss_sandbox_webhook_url` fixture to receive its webhooks, and
`toss_sandbox_options` to change how it behaves (options of `create_sandbox_app`, e.g.
`{"rate_limit_per_minute": 100}`). Toss's one-second cancel rule is on.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sunap_toss_sandbox.testing import TossSandbox, toss_sandbox_running


@pytest.fixture(scope="session")
def toss_sandbox_webhook_url() -> str | None:
    """Where the sandbox sends its webhooks; None: it sends none."""
    return None


@pytest.fixture(scope="session")
def toss_sandbox_options() -> dict[str, Any]:
    """Options of `create_sandbox_app` for the session's sandbox; none: Toss's behaviour."""
    return {}


@pytest.fixture(scope="session")
def toss_sandbox_session(
    toss_sandbox_webhook_url: str | None, toss_sandbox_options: dict[str, Any]
) -> Iterator[TossSandbox]:
    with toss_sandbox_running(
        webhook_url=toss_sandbox_webhook_url, **toss_sandbox_options
    ) as sandbox:
        yield sandbox


@pytest.fixture
def toss_sandbox(toss_sandbox_session: TossSandbox) -> TossSandbox:
    """A running Toss sandbox with nothing in it: `.url`, `.secret_key`, `.reset()`, …"""
    toss_sandbox_session.reset()
    return toss_sandbox_session
