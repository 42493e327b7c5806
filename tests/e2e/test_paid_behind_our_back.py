"""A READY payment that Toss approved without Sunap: the order was confirmed at Toss directly with
the merchant's secret key (or Sunap's confirm was forgotten by a database restore). A real
`sunap serve` must end with the payment paid, as Toss has it, never `EXPIRED` with
`payment.expired` sent for a charged order; the customer's own confirm then succeeds.

Toss's PAYMENT_STATUS_CHANGED reaches Sunap (the embedded sandbox sends it): it is matched by its
orderId to the READY payment, Toss is asked, and its approval adopted.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx

from tests.e2e.flows import confirm, create_payment, pay_in_window, wait_for
from tests.support.service import RunningService

# Any test secret key reaches the embedded sandbox's books: the merchant's own backend here.
MERCHANT_SECRET = "Basic " + base64.b64encode(b"test_sk_merchant_backend:").decode()


def current(api: httpx.Client, payment: dict[str, Any]) -> dict[str, Any]:
    return dict(api.get(f"/v1/payments/{payment['id']}").json())


def trail(api: httpx.Client, payment: dict[str, Any]) -> list[tuple[str, str]]:
    items = api.get(f"/v1/payments/{payment['id']}/transactions").json()["items"]
    return [(t["type"], t["status"]) for t in items]


def events_logged(service: RunningService, payment_id: str) -> list[str]:
    """The event types the log publisher wrote for the payment, in order."""
    types = []
    for line in service.logs().splitlines():
        _, marker, logged = line.partition(" sunap.events ")
        if marker and json.loads(logged).get("subject") == payment_id:
            types.append(json.loads(logged)["type"])
    return types


def test_a_webhook_of_an_approval_at_toss_settles_the_ready_payment_as_paid(
    service: RunningService, api: httpx.Client, sandbox: httpx.Client
) -> None:
    payment = create_payment(api, 10000)
    key = pay_in_window(sandbox, payment)
    direct = sandbox.post(
        "/v1/payments/confirm",
        json={"paymentKey": key, "orderId": payment["orderId"], "amount": 10000},
        headers={"Authorization": MERCHANT_SECRET},
    )
    assert direct.status_code == 200 and direct.json()["status"] == "DONE", direct.text

    paid = wait_for(lambda: (p := current(api, payment))["status"] == "DONE" and p)
    assert paid, current(api, payment)
    assert paid["paymentKey"] == key and paid["balanceAmount"] == 10000
    assert ("webhook.PAYMENT_STATUS_CHANGED", "applied") in trail(api, payment)
    assert wait_for(
        lambda: events_logged(service, payment["id"]) == ["payment.created", "payment.completed"]
    ), events_logged(service, payment["id"])

    customer = confirm(api, payment, key)  # the customer's own confirm, arriving late
    assert customer.status_code == 200 and customer.json()["status"] == "DONE", customer.text
