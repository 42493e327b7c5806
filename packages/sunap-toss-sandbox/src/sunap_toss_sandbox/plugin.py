"""The pytest plugin (entry point `pytest11`): a `toss_sandbox` fixture for any project's tests.

    def test_confirm(toss_sandbox):
        payment_key = toss_sandbox.open_payment(order_id="order-1", amount=15000)
        answer = httpx.post(f"{toss_sandbox.url}/v1/payments/confirm", ...)

One sandbox serves the whole session (starting it costs a fraction of a second); each test gets
it freshly reset. Override the `toss_sandbox_webhook_url` fixture to receive its webhooks.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sunap_toss_sandbox.testing import TossSandbox, toss_sandbox_running


@pytest.fixture(scope="session")
def toss_sandbox_webhook_url() -> str | None:
    """Where the sandbox sends its webhooks; None: it sends none."""
    return None


@pytest.fixture(scope="session")
def toss_sandbox_session(toss_sandbox_webhook_url: str | None) -> Iterator[TossSandbox]:
    with toss_sandbox_running(webhook_url=toss_sandbox_webhook_url) as sandbox:
        yield sandbox


@pytest.fixture
def toss_sandbox(toss_sandbox_session: TossSandbox) -> TossSandbox:
    """A running Toss sandbox with nothing in it: `.url`, `.secret_key`, `.reset()`, …"""
    toss_sandbox_session.reset()
    return toss_sandbox_session
