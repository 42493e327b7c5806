"""The payment window page, standalone and mounted under a prefix in a host app."""

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from starlette.routing import Mount

from sunap_toss_sandbox.app import create_sandbox_app
from tests.sandbox.flows import new_order_id
from tests.support.sandbox_server import SANDBOX_SECRET_KEY, serving


def checkout_params(order_id: str, amount: int = 12000) -> dict[str, str | int]:
    return {
        "orderId": order_id,
        "amount": amount,
        "orderName": "<b>책</b> 외 2건",
        "successUrl": "http://shop.test/pay/success",
        "failUrl": "http://shop.test/pay/fail?from=sandbox",
    }


def query_of(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    return {name: values[0] for name, values in parse_qs(location.query).items()}


def hidden(page: str, name: str) -> str:
    marker = f'name="{name}" value="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]


def form(page: str) -> dict[str, str]:
    return {name: hidden(page, name) for name in ("paymentKey", "successUrl", "failUrl")}


async def test_approving_redirects_to_success_with_toss_parameters(
    toss: httpx.AsyncClient,
) -> None:
    order_id = new_order_id()
    window = await toss.get("/sandbox/checkout", params=checkout_params(order_id))
    page = window.text
    assert "&lt;b&gt;책&lt;/b&gt;" in page  # merchant text is escaped
    # It holds the payment's key: never framed (a click-through of its approve button), cached
    # or sent on as a Referer.
    assert "frame-ancestors 'none'" in window.headers["content-security-policy"]
    assert window.headers["x-frame-options"] == "DENY"
    assert window.headers["cache-control"] == "no-store"
    assert window.headers["referrer-policy"] == "no-referrer"

    approved = await toss.post("/sandbox/checkout/approve", data=form(page))
    assert approved.headers["cache-control"] == "no-store"
    success = query_of(approved)

    assert success["paymentType"] == "NORMAL"
    assert success["orderId"] == order_id
    assert success["amount"] == "12000"
    confirmed = await toss.post(
        "/v1/payments/confirm",
        json={"paymentKey": success["paymentKey"], "orderId": order_id, "amount": 12000},
    )
    assert confirmed.json()["status"] == "DONE"


async def test_approving_twice_answers_the_same_success_and_confirms_once(
    toss: httpx.AsyncClient,
) -> None:
    """A double click posts the window's form twice: both answers send the customer to success."""
    order_id = new_order_id()
    page = (await toss.get("/sandbox/checkout", params=checkout_params(order_id))).text

    first = query_of(await toss.post("/sandbox/checkout/approve", data=form(page)))
    second = query_of(await toss.post("/sandbox/checkout/approve", data=form(page)))

    assert first == second
    confirm = {"paymentKey": first["paymentKey"], "orderId": order_id, "amount": 12000}
    assert (await toss.post("/v1/payments/confirm", json=confirm)).json()["status"] == "DONE"
    again = await toss.post("/v1/payments/confirm", json=confirm)
    assert again.json()["code"] == "ALREADY_PROCESSED_PAYMENT"
    # Once confirmed, the window's form is spent: a late post goes to fail, and changes nothing.
    late = query_of(await toss.post("/sandbox/checkout/approve", data=form(page)))
    assert late["code"] == "PAY_PROCESS_ABORTED"
    looked_up = await toss.get(f"/v1/payments/{first['paymentKey']}")
    assert looked_up.json()["status"] == "DONE"


async def test_declining_redirects_to_fail_with_the_chosen_code(toss: httpx.AsyncClient) -> None:
    order_id = new_order_id()
    page = (await toss.get("/sandbox/checkout", params=checkout_params(order_id))).text

    fail = query_of(
        await toss.post("/sandbox/checkout/decline", data={**form(page), "code": "FDS_ERROR"})
    )

    assert fail == {
        "from": "sandbox",
        "code": "FDS_ERROR",
        "message": "위험거래가 감지되어 결제가 제한됩니다.",
        "orderId": order_id,
    }


async def test_giving_up_redirects_to_fail_without_the_order(toss: httpx.AsyncClient) -> None:
    page = (await toss.get("/sandbox/checkout", params=checkout_params(new_order_id()))).text

    fail = query_of(await toss.post("/sandbox/checkout/give-up", data=form(page)))

    assert fail["code"] == "PAY_PROCESS_CANCELED"
    assert "orderId" not in fail


@pytest.mark.parametrize("order_id", ["", "주문-20240101-0001", "order 2024 0001", "ord-1"])
async def test_the_window_refuses_an_empty_short_or_non_ascii_order_id(
    toss: httpx.AsyncClient, order_id: str
) -> None:
    refused = await toss.get("/sandbox/checkout", params=checkout_params(order_id))

    assert refused.status_code == 400
    assert "INVALID_ORDER_ID" in refused.text
    assert 'name="paymentKey"' not in refused.text
    if order_id:
        looked_up = await toss.get(f"/v1/payments/orders/{order_id}")
        assert looked_up.json()["code"] == "NOT_FOUND_PAYMENT"


async def test_reloading_the_page_keeps_one_payment(toss: httpx.AsyncClient) -> None:
    params = checkout_params(new_order_id())

    first = (await toss.get("/sandbox/checkout", params=params)).text
    second = (await toss.get("/sandbox/checkout", params=params)).text

    assert hidden(first, "paymentKey") == hidden(second, "paymentKey")


@pytest.fixture
def host_url() -> Iterator[str]:
    """A host app that mounts the sandbox under /toss-sandbox and never runs its lifespan."""
    sandbox = create_sandbox_app()
    host = FastAPI(routes=[Mount("/toss-sandbox", app=sandbox)])
    with serving(host) as url:
        yield url


async def test_a_mounted_sandbox_serves_toss_and_links_under_its_prefix(host_url: str) -> None:
    async with httpx.AsyncClient(
        base_url=f"{host_url}/toss-sandbox", auth=(SANDBOX_SECRET_KEY, "")
    ) as toss:
        order_id = new_order_id()
        page = (await toss.get("/sandbox/checkout", params=checkout_params(order_id))).text
        assert 'action="/toss-sandbox/sandbox/checkout/approve"' in page
        approved = await toss.post("/sandbox/checkout/approve", data=form(page))
        success = query_of(approved)
        confirmed = await toss.post(
            "/v1/payments/confirm",
            json={"paymentKey": success["paymentKey"], "orderId": order_id, "amount": 12000},
        )
        calls = (await toss.get("/sandbox/calls")).json()["items"]

    assert confirmed.json()["status"] == "DONE"
    assert calls[0]["path"] == "/v1/payments/confirm"
