"""One real `sunap serve` (embedded SQLite + Toss sandbox) for the client's tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.service import RunningService, running_service

SCOPES = ("payments:read", "payments:write", "payments:cancel")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    with running_service(Path(tmp_path_factory.mktemp("sunap-client"))) as svc:
        yield svc


@pytest.fixture(scope="module")
def api_key(service: RunningService) -> str:
    return service.create_key("client-shop", *SCOPES)


@pytest.fixture(scope="module")
def billing_api_key(service: RunningService) -> str:
    """Billing, and reading payments: a one-off charge whose outcome was unknown is followed there."""
    return service.create_key("client-shop", "billing", "payments:read")


@pytest.fixture()
def sandbox(service: RunningService) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.sandbox_url, timeout=60) as client:
        yield client
        client.delete("/sandbox/faults")


@pytest.fixture()
def pay(sandbox: httpx.Client) -> Callable[..., str]:
    """What the customer does in the Toss window: the paymentKey the widget hands back."""

    def pay_in_window(order_id: str, amount: int, **window: str) -> str:
        body = {"orderId": order_id, "amount": amount, **window}
        answer = sandbox.post("/sandbox/payments", json=body)
        assert answer.status_code in (200, 201), answer.text
        return str(answer.json()["paymentKey"])

    return pay_in_window


@pytest.fixture()
def register_card(sandbox: httpx.Client) -> Callable[[str], str]:
    """What Toss's card registration (`requestBillingAuth`) hands back: the authKey."""

    def registered(customer_key: str) -> str:
        answer = sandbox.post("/sandbox/billing/auth", json={"customerKey": customer_key})
        assert answer.status_code in (200, 201), answer.text
        return str(answer.json()["authKey"])

    return registered
