"""Bad input gets Toss's own answer: a {code, message} 4xx, never a 500 or a stack trace."""

from typing import Any

import httpx
import pytest

from tests.sandbox.flows import open_window

BAD_CALLS: list[tuple[str, str, Any]] = [
    ("POST", "/v1/payments/confirm", None),
    ("POST", "/v1/payments/confirm", b"{not json"),
    ("POST", "/v1/payments/confirm", b"[1, 2]"),
    ("POST", "/v1/payments/confirm", {}),
    ("POST", "/v1/payments/confirm", {"paymentKey": 12, "orderId": "order-1234", "amount": 1}),
    ("POST", "/v1/payments/confirm", {"paymentKey": "k", "orderId": "short", "amount": 1}),
    ("POST", "/v1/payments/confirm", {"paymentKey": "k", "orderId": "bad order!", "amount": 1}),
    ("POST", "/v1/payments/confirm", {"paymentKey": "k", "orderId": "order-1234", "amount": -5}),
    ("POST", "/v1/payments/confirm", {"paymentKey": "k", "orderId": "order-1234", "amount": 1.5}),
    ("POST", "/v1/payments/confirm", {"paymentKey": "k", "orderId": "order-1234", "amount": "1e3"}),
    ("POST", "/v1/payments/confirm", {"paymentKey": "k", "orderId": "order-1234", "amount": True}),
    ("POST", "/v1/payments/confirm", {"paymentKey": "x" * 201, "orderId": "order-1234", "amount": 1}),
    ("POST", "/v1/payments/some-key/cancel", {}),
    ("POST", "/v1/payments/some-key/cancel", {"cancelReason": ["list"]}),
    ("POST", "/v1/payments/some-key/cancel", {"cancelReason": "x", "cancelAmount": "abc"}),
    ("POST", "/v1/virtual-accounts", {"amount": 1000}),
    ("POST", "/v1/virtual-accounts", {"amount": 1000, "orderId": "order-1234", "orderName": "n",
                                      "customerName": "c", "bank": "88", "dueDate": "tomorrow"}),
    ("POST", "/v1/billing/authorizations/issue", {"authKey": "nope", "customerKey": "c"}),
    ("POST", "/v1/billing/some-billing-key", {"customerKey": "cust-1", "amount": "many"}),
    ("POST", "/v1/payments/key-in", {"amount": 1000, "orderId": "order-1234", "orderName": "n",
                                     "cardNumber": "not-digits"}),
    ("GET", "/v1/payments/orders/%00%ff", None),
    ("DELETE", "/v1/billing/unknown-billing-key", None),
    ("GET", "/v1/no-such-api", None),
    ("PUT", "/v1/payments/confirm", {}),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body"), BAD_CALLS)
async def test_bad_input_is_answered_like_toss(
    toss: httpx.AsyncClient, method: str, path: str, body: Any
) -> None:
    content = body if isinstance(body, bytes) else None
    json_body = None if isinstance(body, bytes) else body

    response = await toss.request(method, path, json=json_body, content=content)

    assert 400 <= response.status_code < 500, response.text
    assert set(response.json()) == {"code", "message"}
    assert response.headers["content-type"].startswith("application/json")


async def test_an_unknown_payment_key_is_not_found(toss: httpx.AsyncClient) -> None:
    for response in (
        await toss.get("/v1/payments/no-such-payment"),
        await toss.post("/v1/payments/no-such-payment/cancel", json={"cancelReason": "x"}),
        await toss.post(
            "/v1/payments/confirm",
            json={"paymentKey": "no-such-payment", "orderId": "order-1234", "amount": 1000},
        ),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "NOT_FOUND_PAYMENT"


async def test_a_window_for_an_order_already_paid_is_a_duplicated_order(
    toss: httpx.AsyncClient,
) -> None:
    window = await open_window(toss)
    await toss.post("/v1/payments/confirm", json=window)

    again = await toss.post(
        "/sandbox/payments", json={"orderId": window["orderId"], "amount": 1000}
    )

    assert again.status_code == 400
    assert again.json()["code"] == "DUPLICATED_ORDER_ID"
