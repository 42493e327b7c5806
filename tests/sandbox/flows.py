"""Steps shared by the sandbox tests: what a customer and a merchant do, over HTTP."""

from __future__ import annotations

import uuid
from typing import Any

import httpx


def new_order_id() -> str:
    return f"order-{uuid.uuid4().hex[:20]}"


async def open_window(toss: httpx.AsyncClient, amount: int = 10000, **extra: Any) -> dict[str, Any]:
    """The customer authenticates in the payment window: an IN_PROGRESS payment."""
    body = {"orderId": new_order_id(), "amount": amount, "orderName": "생수 외 1건", **extra}
    response = await toss.post("/sandbox/payments", json=body)
    assert response.status_code == 200, response.text
    window: dict[str, Any] = response.json()
    return window


async def confirm(
    toss: httpx.AsyncClient, window: dict[str, Any], **headers: str
) -> httpx.Response:
    return await toss.post(
        "/v1/payments/confirm",
        json={
            "paymentKey": window["paymentKey"],
            "orderId": window["orderId"],
            "amount": window["amount"],
        },
        headers=headers,
    )


async def paid_card_payment(toss: httpx.AsyncClient, amount: int = 10000) -> dict[str, Any]:
    response = await confirm(toss, await open_window(toss, amount))
    assert response.status_code == 200, response.text
    payment: dict[str, Any] = response.json()
    return payment


async def cancel(
    toss: httpx.AsyncClient, payment_key: str, amount: int | None = None, **extra: Any
) -> httpx.Response:
    body: dict[str, Any] = {"cancelReason": "고객 변심", **extra}
    if amount is not None:
        body["cancelAmount"] = amount
    return await toss.post(f"/v1/payments/{payment_key}/cancel", json=body)


async def advance_clock(toss: httpx.AsyncClient, seconds: float) -> None:
    response = await toss.post("/sandbox/clock", json={"advanceSeconds": seconds})
    assert response.status_code == 200, response.text


async def register_account(
    toss: httpx.AsyncClient, secret_key: str, **extra: str
) -> dict[str, Any]:
    """A merchant account with books of its own; answers its clientKey and webhookUrl."""
    response = await toss.post("/sandbox/accounts", json={"secretKey": secret_key, **extra})
    assert response.status_code == 201, response.text
    account: dict[str, Any] = response.json()
    return account
