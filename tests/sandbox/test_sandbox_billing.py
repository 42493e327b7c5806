"""Billing keys: issue from an authKey, charge, and delete."""

from typing import Any

import httpx

from tests.sandbox.flows import new_order_id


async def billing_key(toss: httpx.AsyncClient, customer_key: str) -> dict[str, Any]:
    auth = (await toss.post("/sandbox/billing/auth", json={"customerKey": customer_key})).json()
    issued = await toss.post("/v1/billing/authorizations/issue", json=auth)
    assert issued.status_code == 200, issued.text
    billing: dict[str, Any] = issued.json()
    return billing


async def charge(
    toss: httpx.AsyncClient, key: str, customer_key: str, order_id: str | None = None
) -> httpx.Response:
    return await toss.post(
        f"/v1/billing/{key}",
        json={
            "customerKey": customer_key,
            "amount": 4900,
            "orderId": order_id or new_order_id(),
            "orderName": "월간 구독",
        },
    )


async def test_a_billing_key_is_issued_charged_and_deleted(toss: httpx.AsyncClient) -> None:
    billing = await billing_key(toss, "customer-billing-01")
    assert billing["customerKey"] == "customer-billing-01"
    assert billing["method"] == "카드"
    assert billing["card"]["number"].count("*") == 5

    charged = await charge(toss, billing["billingKey"], "customer-billing-01")
    assert charged.status_code == 200
    payment = charged.json()
    assert (payment["type"], payment["status"], payment["method"]) == ("BILLING", "DONE", "카드")

    deleted = await toss.delete(f"/v1/billing/{billing['billingKey']}")
    assert deleted.status_code == 200
    assert deleted.content == b""
    after = await charge(toss, billing["billingKey"], "customer-billing-01")
    assert after.status_code == 404
    assert after.json()["code"] == "NOT_FOUND_BILLING"


async def test_an_auth_key_issues_one_billing_key_only(toss: httpx.AsyncClient) -> None:
    auth = (await toss.post("/sandbox/billing/auth", json={"customerKey": "cust-once-1"})).json()
    assert (await toss.post("/v1/billing/authorizations/issue", json=auth)).status_code == 200

    again = await toss.post("/v1/billing/authorizations/issue", json=auth)

    assert again.status_code == 400


async def test_charging_for_another_customer_does_not_match(toss: httpx.AsyncClient) -> None:
    billing = await billing_key(toss, "customer-billing-02")

    refused = await charge(toss, billing["billingKey"], "someone-else-02")

    assert refused.status_code == 400
    assert refused.json()["code"] == "NOT_MATCHES_CUSTOMER_KEY"


async def test_an_order_charged_once_is_a_duplicated_order(toss: httpx.AsyncClient) -> None:
    billing = await billing_key(toss, "customer-billing-03")
    order_id = new_order_id()
    assert (await charge(toss, billing["billingKey"], "customer-billing-03", order_id)).is_success

    again = await charge(toss, billing["billingKey"], "customer-billing-03", order_id)

    assert again.status_code == 400
    assert again.json()["code"] == "DUPLICATED_ORDER_ID"


async def test_the_call_log_names_a_billing_key_by_its_template_never_by_its_value(
    toss: httpx.AsyncClient,
) -> None:
    """The control plane answers anyone who reaches the port: a billing key, a standing right to
    charge a card, is logged as `{billingKey}`; the rest of each call as it came."""
    billing = await billing_key(toss, "customer-billing-04")
    key = billing["billingKey"]
    charged = await toss.post(
        f"/v1/billing/{key}",
        json={
            "customerKey": "customer-billing-04",
            "amount": 4900,
            "orderId": "bill-log-0001",
            "orderName": "월간 구독",
        },
        headers={"Idempotency-Key": "charge-bill-log-0001"},
    )
    assert charged.status_code == 200
    assert (await toss.delete(f"/v1/billing/{key}")).status_code == 200
    assert (await toss.delete(f"/v1/billing/{key}")).status_code == 404

    listed = await toss.get("/sandbox/calls")

    assert key not in listed.text
    calls = [(c["method"], c["path"], c["status"]) for c in listed.json()["items"]]
    assert calls == [
        ("POST", "/v1/billing/authorizations/issue", 200),
        ("POST", "/v1/billing/{billingKey}", 200),
        ("DELETE", "/v1/billing/{billingKey}", 200),
        ("DELETE", "/v1/billing/{billingKey}", 404),
    ]
    charge_call = listed.json()["items"][1]
    assert charge_call["idempotencyKey"] == "charge-bill-log-0001"
    assert charge_call["account"] == "default" and charge_call["at"] and charge_call["receivedAt"]
