"""Steps a merchant's backend and its customer take, shared by the end-to-end tests."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx


def new_order_id() -> str:
    # The `o` keeps digit runs after a letter: the log tests search for card-number-like runs.
    return f"order-o{uuid.uuid4().hex[:20]}"


def create_payment(api: httpx.Client, amount: int = 15000, **fields: Any) -> dict[str, Any]:
    body = {"orderName": "생수 외 1건", "amount": amount, "orderId": new_order_id(), **fields}
    response = api.post("/v1/payments", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def pay_in_window(sandbox: httpx.Client, payment: dict[str, Any], **fields: Any) -> str:
    """What the customer does in the Toss window: returns the paymentKey the widget hands back."""
    body = {"orderId": payment["orderId"], "amount": payment["amount"], **fields}
    response = sandbox.post("/sandbox/payments", json=body)
    assert response.status_code in (200, 201), response.text
    return str(response.json()["paymentKey"])


def confirm(
    api: httpx.Client, payment: dict[str, Any], payment_key: str, **headers: str
) -> httpx.Response:
    body = {"paymentKey": payment_key, "orderId": payment["orderId"], "amount": payment["amount"]}
    return api.post("/v1/payments/confirm", json=body, headers=headers)


def paid_payment(
    api: httpx.Client, sandbox: httpx.Client, amount: int = 15000, **window: Any
) -> dict[str, Any]:
    payment = create_payment(api, amount)
    response = confirm(api, payment, pay_in_window(sandbox, payment, **window))
    assert response.status_code == 200, response.text
    return dict(response.json())


def toss_calls(sandbox: httpx.Client, path_part: str) -> list[dict[str, Any]]:
    items = sandbox.get("/sandbox/calls").json()["items"]
    return [c for c in items if path_part in c["path"]]


def wait_for(check: Any, timeout: float = 20.0, interval: float = 0.2) -> Any:
    """Poll until `check()` returns something truthy; the last value otherwise."""
    deadline = time.monotonic() + timeout
    value = check()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = check()
    return value
