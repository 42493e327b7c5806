"""Registered merchant accounts keep separate books: orders, payments, billing keys, webhooks."""

import asyncio
import html
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.sandbox.conftest import FAST_RETRIES
from tests.sandbox.flows import (
    advance_clock,
    cancel,
    confirm,
    new_order_id,
    open_window,
    paid_card_payment,
    register_account,
)
from tests.sandbox.receiver import WebhookReceiver
from tests.support.sandbox_server import SANDBOX_SECRET_KEY, running_sandbox

SHOP_A = "test_sk_shopA7Lp2QwXr9Zk4Vn6Bm3Jh8Tc1"
SHOP_B = "test_sk_shopB5Ty8UiOp2As4Df6Gh9Jk1Lq3"
CLIENT_A = "test_ck_shopA0Wq4Er6Ty8Ui1Op3As5Df7Gh"
CLIENT_B = "test_ck_shopB2Zx4Cv6Bn8Ml1Kj3Hg5Fd7Sa"
_HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')


@pytest.fixture
async def shops(
    toss: httpx.AsyncClient, sandbox_url: str
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Clients of two registered accounts (A, B) of the sandbox `toss` talks to."""
    await register_account(toss, SHOP_A, clientKey=CLIENT_A)
    await register_account(toss, SHOP_B, clientKey=CLIENT_B)
    async with (
        httpx.AsyncClient(base_url=sandbox_url, auth=(SHOP_A, ""), timeout=10) as shop_a,
        httpx.AsyncClient(base_url=sandbox_url, auth=(SHOP_B, ""), timeout=10) as shop_b,
    ):
        yield shop_a, shop_b


def refusal(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["code"]


async def test_two_accounts_each_hold_the_same_order_id_and_confirm_their_own(
    shops: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    shop_a, shop_b = shops
    order_id = new_order_id()
    window_a = await open_window(shop_a, amount=1000, orderId=order_id)
    window_b = await open_window(shop_b, amount=2000, orderId=order_id)

    confirmed_a = await confirm(shop_a, window_a)
    confirmed_b = await confirm(shop_b, window_b)

    assert confirmed_a.status_code == confirmed_b.status_code == 200
    assert confirmed_a.json()["status"] == confirmed_b.json()["status"] == "DONE"
    seen_a = (await shop_a.get(f"/v1/payments/orders/{order_id}")).json()
    seen_b = (await shop_b.get(f"/v1/payments/orders/{order_id}")).json()
    assert (seen_a["paymentKey"], seen_a["totalAmount"]) == (window_a["paymentKey"], 1000)
    assert (seen_b["paymentKey"], seen_b["totalAmount"]) == (window_b["paymentKey"], 2000)


async def test_no_other_account_can_confirm_read_or_cancel_a_payment(
    shops: tuple[httpx.AsyncClient, httpx.AsyncClient], toss: httpx.AsyncClient
) -> None:
    shop_a, shop_b = shops
    window = await open_window(shop_a)
    key, order_id = window["paymentKey"], window["orderId"]

    for other in (shop_b, toss):  # another account, and the default books
        assert refusal(await confirm(other, window)) == (404, "NOT_FOUND_PAYMENT")
    confirmed = await confirm(shop_a, window)
    assert confirmed.json()["status"] == "DONE"
    for other in (shop_b, toss):
        answers = [
            await other.get(f"/v1/payments/{key}"),
            await other.get(f"/v1/payments/orders/{order_id}"),
            await cancel(other, key),
        ]
        assert [refusal(answer) for answer in answers] == [(404, "NOT_FOUND_PAYMENT")] * 3

    untouched = (await shop_a.get(f"/v1/payments/{key}")).json()
    assert (untouched["status"], untouched["balanceAmount"]) == ("DONE", 10000)
    assert untouched["cancels"] is None


async def test_the_same_idempotency_key_in_two_accounts_is_two_requests(
    shops: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    order_id = new_order_id()
    windows = [await open_window(shop, orderId=order_id) for shop in shops]

    answers = [
        await confirm(shop, window, **{"Idempotency-Key": "shared-key-0001"})
        for shop, window in zip(shops, windows, strict=True)
    ]

    assert [answer.json()["paymentKey"] for answer in answers] == [
        window["paymentKey"] for window in windows
    ]
    assert [answer.json()["status"] for answer in answers] == ["DONE", "DONE"]


async def test_the_one_clock_expires_windows_in_every_accounts_books(
    shops: tuple[httpx.AsyncClient, httpx.AsyncClient], toss: httpx.AsyncClient
) -> None:
    shop_a, _ = shops
    window = await open_window(shop_a)

    await advance_clock(toss, 10 * 60)

    expired = (await shop_a.get(f"/v1/payments/{window['paymentKey']}")).json()
    assert expired["status"] == "EXPIRED"


async def test_auth_keys_and_billing_keys_belong_to_one_account(
    shops: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    shop_a, shop_b = shops
    auth = (await shop_a.post("/sandbox/billing/auth", json={"customerKey": "cust-shop-a"})).json()

    stolen = await shop_b.post("/v1/billing/authorizations/issue", json=auth)
    issued = await shop_a.post("/v1/billing/authorizations/issue", json=auth)

    assert refusal(stolen)[1] == "INVALID_BILLING_AUTH"
    billing_key = issued.json()["billingKey"]
    charge = {
        "customerKey": "cust-shop-a",
        "amount": 4900,
        "orderId": new_order_id(),
        "orderName": "월간 구독",
    }
    assert refusal(await shop_b.post(f"/v1/billing/{billing_key}", json=charge)) == (
        404,
        "NOT_FOUND_BILLING",
    )
    assert refusal(await shop_b.delete(f"/v1/billing/{billing_key}")) == (404, "NOT_FOUND_BILLING")
    charged = await shop_a.post(f"/v1/billing/{billing_key}", json=charge)
    assert charged.json()["status"] == "DONE"


async def test_a_deposit_lands_in_the_books_its_authorization_header_names(
    shops: tuple[httpx.AsyncClient, httpx.AsyncClient], sandbox_url: str
) -> None:
    shop_a, shop_b = shops
    issued = await shop_a.post(
        "/v1/virtual-accounts",
        json={
            "amount": 30000,
            "orderId": new_order_id(),
            "orderName": "토스 티셔츠",
            "customerName": "김토스",
            "bank": "신한",
        },
    )
    deposit = f"/sandbox/virtual-accounts/{issued.json()['paymentKey']}/deposit"

    async with httpx.AsyncClient(base_url=sandbox_url) as console:  # no header: default books
        assert refusal(await console.post(deposit)) == (404, "NOT_FOUND_PAYMENT")
    assert refusal(await shop_b.post(deposit)) == (404, "NOT_FOUND_PAYMENT")
    paid = await shop_a.post(deposit)

    assert paid.status_code == 200
    assert paid.json()["status"] == "DONE"


def approve_form(page: str) -> dict[str, str]:
    """What a browser posts when the approve button (the page's first form) is pressed."""
    first_form = page[: page.index("</form>")]
    return {name: html.unescape(value) for name, value in _HIDDEN.findall(first_form)}


def window_params(order_id: str) -> dict[str, str | int]:
    return {
        "orderId": order_id,
        "amount": 12000,
        "orderName": "책 외 2건",
        "successUrl": "http://shop.test/pay/success",
        "failUrl": "http://shop.test/pay/fail",
    }


async def test_the_payment_window_opened_with_a_client_key_pays_into_that_account(
    shops: tuple[httpx.AsyncClient, httpx.AsyncClient], toss: httpx.AsyncClient, sandbox_url: str
) -> None:
    shop_a, shop_b = shops
    order_id = new_order_id()
    async with httpx.AsyncClient(base_url=sandbox_url) as browser:  # a page has no secret key
        page = await browser.get(
            "/sandbox/checkout", params={**window_params(order_id), "clientKey": CLIENT_A}
        )
        # The same orderId in the default books is another merchant's order: a window of its own.
        default_page = await browser.get("/sandbox/checkout", params=window_params(order_id))
        approved = await browser.post("/sandbox/checkout/approve", data=approve_form(page.text))

    assert approved.status_code == 303
    success = parse_qs(urlsplit(approved.headers["location"]).query)
    payment_key = success["paymentKey"][0]
    confirmed = await shop_a.post(
        "/v1/payments/confirm",
        json={"paymentKey": payment_key, "orderId": order_id, "amount": 12000},
    )
    assert confirmed.json()["status"] == "DONE"
    assert refusal(await shop_b.get(f"/v1/payments/{payment_key}")) == (404, "NOT_FOUND_PAYMENT")
    default_window = (await toss.get(f"/v1/payments/orders/{order_id}")).json()
    assert default_window["status"] == "READY"
    assert default_window["paymentKey"] == approve_form(default_page.text)["paymentKey"]
    assert default_window["paymentKey"] != payment_key


async def test_a_window_opened_with_an_accounts_secret_key_carries_its_client_key(
    shops: tuple[httpx.AsyncClient, httpx.AsyncClient], sandbox_url: str
) -> None:
    shop_a, _ = shops
    order_id = new_order_id()
    page = await shop_a.get("/sandbox/checkout", params=window_params(order_id))

    async with httpx.AsyncClient(base_url=sandbox_url) as browser:
        approved = await browser.post("/sandbox/checkout/approve", data=approve_form(page.text))

    assert approve_form(page.text)["clientKey"] == CLIENT_A
    assert approved.status_code == 303
    seen = (await shop_a.get(f"/v1/payments/orders/{order_id}")).json()
    assert seen["status"] == "IN_PROGRESS"


async def test_an_unknown_client_key_gets_no_window(
    sandbox_url: str, toss: httpx.AsyncClient
) -> None:
    order_id = new_order_id()
    async with httpx.AsyncClient(base_url=sandbox_url) as browser:
        page = await browser.get(
            "/sandbox/checkout",
            params={**window_params(order_id), "clientKey": "test_ck_nobodyRegisteredThis00000"},
        )
        approve = await browser.post(
            "/sandbox/checkout/approve",
            data={
                "paymentKey": "any",
                "successUrl": "http://shop.test/ok",
                "failUrl": "http://shop.test/fail",
                "clientKey": "test_ck_nobodyRegisteredThis00000",
            },
        )

    assert page.status_code == approve.status_code == 401
    assert "UNAUTHORIZED_KEY" in page.text
    assert refusal(await toss.get(f"/v1/payments/orders/{order_id}")) == (404, "NOT_FOUND_PAYMENT")


@pytest.mark.parametrize(
    "authorization",
    ["Bearer test_sk_shopA7Lp2QwXr9Zk4Vn6Bm3Jh8Tc1", "Basic bm90IGJhc2U2NA%%", "Basic"],
    ids=["bearer", "not base64", "empty"],
)
async def test_a_control_call_with_a_malformed_authorization_header_changes_nothing(
    sandbox_url: str, toss: httpx.AsyncClient, authorization: str
) -> None:
    order_id = new_order_id()
    async with httpx.AsyncClient(base_url=sandbox_url) as console:
        response = await console.post(
            "/sandbox/payments",
            json={"orderId": order_id, "amount": 1000},
            headers={"Authorization": authorization},
        )

    assert refusal(response) == (401, "UNAUTHORIZED_KEY")
    assert set(response.json()) == {"code", "message"}
    assert refusal(await toss.get(f"/v1/payments/orders/{order_id}")) == (404, "NOT_FOUND_PAYMENT")


async def test_the_calls_log_names_the_account_of_each_call(
    shops: tuple[httpx.AsyncClient, httpx.AsyncClient], toss: httpx.AsyncClient, sandbox_url: str
) -> None:
    shop_a, shop_b = shops
    for client in (shop_a, shop_b, toss):
        await client.get("/v1/payments/orders/order-nobody-01")
    async with httpx.AsyncClient(base_url=sandbox_url) as stranger:
        await stranger.get("/v1/payments/orders/order-nobody-01")

    items = (await toss.get("/sandbox/calls")).json()["items"]

    assert [(item["status"], item["account"]) for item in items] == [
        (404, CLIENT_A),
        (404, CLIENT_B),
        (404, "default"),
        (401, None),  # a refused key opens no books
    ]


async def delivered(toss: httpx.AsyncClient) -> list[dict[str, Any]]:
    """The webhooks log once no delivery is still being sent."""
    for _ in range(250):
        items: list[dict[str, Any]] = (await toss.get("/sandbox/webhooks")).json()["items"]
        if items and all(item["state"] != "SENDING" for item in items):
            return items
        await asyncio.sleep(0.02)
    raise AssertionError(f"webhooks still being sent: {items}")


def payment_keys(receiver: WebhookReceiver) -> list[str]:
    return [hook.body["data"]["paymentKey"] for hook in receiver.of_type("PAYMENT_STATUS_CHANGED")]


async def test_each_accounts_webhooks_go_to_its_own_url(receiver: WebhookReceiver) -> None:
    with (
        WebhookReceiver.running() as shop_a_hooks,
        running_sandbox(webhook_url=receiver.url, webhook_time_scale=FAST_RETRIES) as url,
    ):
        async with (
            httpx.AsyncClient(base_url=url, auth=(SANDBOX_SECRET_KEY, "")) as default,
            httpx.AsyncClient(base_url=url, auth=(SHOP_A, "")) as shop_a,
            httpx.AsyncClient(base_url=url, auth=(SHOP_B, "")) as shop_b,
        ):
            await register_account(default, SHOP_A, clientKey=CLIENT_A, webhookUrl=shop_a_hooks.url)
            await register_account(default, SHOP_B, clientKey=CLIENT_B)  # none: the sandbox's
            paid = {
                name: await paid_card_payment(client)
                for name, client in (("a", shop_a), ("b", shop_b), ("default", default))
            }

            log = await delivered(default)

    key_a, key_b, key_default = (paid[name]["paymentKey"] for name in ("a", "b", "default"))
    assert payment_keys(shop_a_hooks) == [key_a]
    assert sorted(payment_keys(receiver)) == sorted([key_b, key_default])
    assert sorted(
        (item["account"], item["url"], item["body"]["data"]["paymentKey"]) for item in log
    ) == sorted(
        [
            (CLIENT_A, shop_a_hooks.url, key_a),
            (CLIENT_B, receiver.url, key_b),
            ("default", receiver.url, key_default),
        ]
    )


async def test_registering_again_sends_later_webhooks_to_the_new_url(
    receiver: WebhookReceiver,
) -> None:
    with (
        WebhookReceiver.running() as moved,
        running_sandbox(webhook_url=receiver.url, webhook_time_scale=FAST_RETRIES) as url,
    ):
        async with httpx.AsyncClient(base_url=url, auth=(SHOP_A, "")) as shop_a:
            await register_account(shop_a, SHOP_A, clientKey=CLIENT_A)
            payment = await paid_card_payment(shop_a)
            await receiver.wait_for("PAYMENT_STATUS_CHANGED")

            await register_account(shop_a, SHOP_A, clientKey=CLIENT_A, webhookUrl=moved.url)
            await cancel(shop_a, payment["paymentKey"])
            canceled = await moved.wait_for("PAYMENT_STATUS_CHANGED")

    assert canceled.body["data"]["paymentKey"] == payment["paymentKey"]
    assert canceled.body["data"]["status"] == "CANCELED"
    assert [hook.body["data"]["status"] for hook in receiver.received] == ["DONE"]
