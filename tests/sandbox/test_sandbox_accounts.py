"""Registering merchant accounts: what is answered and listed, what is refused, what reset does."""

from typing import Any

import httpx
import pytest

from sunap_toss_sandbox.accounts import Accounts, AccountSpec, AccountSpecError
from sunap_toss_sandbox.clock import SandboxClock
from sunap_toss_sandbox.webhooks import WebhookSender
from tests.sandbox.flows import open_window, paid_card_payment, register_account
from tests.support.sandbox_server import SANDBOX_CLIENT_KEY

SHOP_A = "test_sk_shopA7Lp2QwXr9Zk4Vn6Bm3Jh8Tc1"
SHOP_B = "test_sk_shopB5Ty8UiOp2As4Df6Gh9Jk1Lq3"
CLIENT_A = "test_ck_shopA0Wq4Er6Ty8Ui1Op3As5Df7Gh"
WIDGET_KEY = "test_gsk_docs_OaPz8L5KdmQXkzRz3y47BMw6"
UNREGISTERED_KEY = "test_sk_neverRegistered0000000000000"


async def test_registering_answers_the_client_key_and_webhook_url_but_never_the_secret_key(
    toss: httpx.AsyncClient,
) -> None:
    registered = await toss.post(
        "/sandbox/accounts",
        json={"secretKey": SHOP_A, "clientKey": CLIENT_A, "webhookUrl": "http://shop-a.test/hooks"},
    )
    listed = await toss.get("/sandbox/accounts")

    assert registered.status_code == 201
    assert registered.json() == {"clientKey": CLIENT_A, "webhookUrl": "http://shop-a.test/hooks"}
    assert listed.json() == {
        "items": [
            {
                "clientKey": CLIENT_A,
                "webhookUrl": "http://shop-a.test/hooks",
                "secretKeyHint": "test_sk_…8Tc1",
            }
        ]
    }
    assert SHOP_A not in registered.text
    assert SHOP_A not in listed.text


async def test_an_account_registered_without_a_client_key_gets_one_of_its_key_set(
    toss: httpx.AsyncClient,
) -> None:
    standard = await register_account(toss, SHOP_A)
    widget = await register_account(toss, "test_gsk_shopWidget0000000000000000")

    assert standard["clientKey"].startswith("test_ck_")
    assert widget["clientKey"].startswith("test_gck_")
    assert standard["webhookUrl"] is None
    again = await register_account(toss, SHOP_A)  # an omitted clientKey keeps the one it has
    assert again["clientKey"] == standard["clientKey"]


async def test_registering_a_key_again_updates_its_client_key_and_keeps_its_books(
    toss: httpx.AsyncClient, sandbox_url: str
) -> None:
    await register_account(toss, SHOP_A, clientKey=CLIENT_A, webhookUrl="http://shop-a.test/1")
    async with httpx.AsyncClient(base_url=sandbox_url, auth=(SHOP_A, "")) as shop_a:
        payment = await paid_card_payment(shop_a)

        again = await register_account(toss, SHOP_A, clientKey="test_ck_shopArenamed000000000000")
        kept = await shop_a.get(f"/v1/payments/{payment['paymentKey']}")

    assert again == {"clientKey": "test_ck_shopArenamed000000000000", "webhookUrl": None}
    assert kept.json()["status"] == "DONE"
    [listed] = (await toss.get("/sandbox/accounts")).json()["items"]
    assert listed["clientKey"] == "test_ck_shopArenamed000000000000"
    refused = await toss.get(
        "/sandbox/checkout",
        params={
            "orderId": "order-renamed-01",
            "amount": 1000,
            "successUrl": "http://shop.test/ok",
            "failUrl": "http://shop.test/fail",
            "clientKey": CLIENT_A,
        },
    )
    assert refused.status_code == 401


async def test_keys_never_registered_share_the_default_books(
    toss: httpx.AsyncClient, sandbox_url: str
) -> None:
    await register_account(toss, SHOP_A, clientKey=CLIENT_A)
    async with httpx.AsyncClient(base_url=sandbox_url) as console:  # no header: default books
        window = await open_window(console)
    key = window["paymentKey"]

    seen = {}
    for secret_key in (UNREGISTERED_KEY, WIDGET_KEY, SHOP_A):
        async with httpx.AsyncClient(base_url=sandbox_url, auth=(secret_key, "")) as client:
            seen[secret_key] = (await client.get(f"/v1/payments/{key}")).status_code

    assert seen == {UNREGISTERED_KEY: 200, WIDGET_KEY: 200, SHOP_A: 404}


async def test_a_control_call_with_an_unregistered_key_opens_in_the_default_books(
    toss: httpx.AsyncClient, sandbox_url: str
) -> None:
    await register_account(toss, SHOP_A, clientKey=CLIENT_A)
    async with httpx.AsyncClient(base_url=sandbox_url, auth=(UNREGISTERED_KEY, "")) as stranger:
        window = await open_window(stranger)

    assert (await toss.get(f"/v1/payments/{window['paymentKey']}")).status_code == 200


async def test_the_sandboxs_own_client_key_opens_a_window_in_the_default_books(
    toss: httpx.AsyncClient, sandbox_url: str
) -> None:
    async with httpx.AsyncClient(base_url=sandbox_url) as browser:
        page = await browser.get(
            "/sandbox/checkout",
            params={
                "orderId": "order-doc-client-key",
                "amount": 1000,
                "successUrl": "http://shop.test/ok",
                "failUrl": "http://shop.test/fail",
                "clientKey": SANDBOX_CLIENT_KEY,
            },
        )

    assert page.status_code == 200
    seen = await toss.get("/v1/payments/orders/order-doc-client-key")
    assert seen.json()["status"] == "READY"


async def test_reset_forgets_registered_accounts_and_their_books(
    toss: httpx.AsyncClient, sandbox_url: str
) -> None:
    await register_account(toss, SHOP_A, clientKey=CLIENT_A)
    async with httpx.AsyncClient(base_url=sandbox_url, auth=(SHOP_A, "")) as shop_a:
        payment = await paid_card_payment(shop_a)

        await toss.post("/sandbox/reset")
        gone = await shop_a.get(f"/v1/payments/{payment['paymentKey']}")
        fresh = await open_window(shop_a)  # the key is unregistered now: the default books

    assert (await toss.get("/sandbox/accounts")).json() == {"items": []}
    assert (gone.status_code, gone.json()["code"]) == (404, "NOT_FOUND_PAYMENT")
    assert (await toss.get(f"/v1/payments/{fresh['paymentKey']}")).status_code == 200


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "INVALID_API_KEY"),
        ({"secretKey": "live_sk_zXLkKEypNArWmo50nX3lmeaxYG5R"}, "INVALID_API_KEY"),
        ({"secretKey": "test_ck_D5GePWvyJnrK0W0k6q8gLzN97Eoq"}, "INVALID_API_KEY"),
        ({"secretKey": "test_sk_"}, "INVALID_API_KEY"),
        ({"secretKey": 12345678}, "INVALID_API_KEY"),
        ({"secretKey": "test_sk_with:colon000000"}, "INVALID_API_KEY"),
        ({"secretKey": SHOP_A, "clientKey": "test_gck_widgetSetKey0000000000"}, "INVALID_API_KEY"),
        ({"secretKey": SHOP_A, "clientKey": SHOP_B}, "INVALID_API_KEY"),
        ({"secretKey": SHOP_A, "clientKey": 7}, "INVALID_API_KEY"),
        ({"secretKey": SHOP_A, "webhookUrl": "ftp://shop.test/hooks"}, "INVALID_REQUEST"),
        ({"secretKey": SHOP_A, "webhookUrl": "shop.test/hooks"}, "INVALID_REQUEST"),
        ({"secretKey": SHOP_A, "webhookUrl": ["http://shop.test"]}, "INVALID_REQUEST"),
        ({"secretKey": SHOP_A, "webhookUrl": "http://[::1/hooks"}, "INVALID_REQUEST"),
        ([SHOP_A], "INVALID_REQUEST"),
    ],
    ids=[
        "no key",
        "live key",
        "client key",
        "bare prefix",
        "number",
        "colon",
        "client key of the widget set",
        "secret key as client key",
        "client key not text",
        "ftp webhook",
        "relative webhook",
        "webhook list",
        "webhook no URL can parse",  # it answered 500
        "not an object",
    ],
)
async def test_a_bad_registration_is_refused_and_registers_nothing(
    toss: httpx.AsyncClient, body: Any, code: str
) -> None:
    response = await toss.post("/sandbox/accounts", json=body)

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert response.json()["message"]
    assert SHOP_A not in response.text
    assert (await toss.get("/sandbox/accounts")).json() == {"items": []}


async def test_a_body_that_is_not_json_is_refused(toss: httpx.AsyncClient) -> None:
    response = await toss.post(
        "/sandbox/accounts",
        content=b"secretKey=test_sk_abc",
        headers={"Content-Type": "text/plain"},
    )

    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_REQUEST"


async def test_a_client_key_held_by_another_account_is_refused(toss: httpx.AsyncClient) -> None:
    await register_account(toss, SHOP_A, clientKey=CLIENT_A)

    taken = await toss.post("/sandbox/accounts", json={"secretKey": SHOP_B, "clientKey": CLIENT_A})

    assert taken.status_code == 400
    assert taken.json() == {
        "code": "INVALID_REQUEST",
        "message": "clientKey belongs to another account",
    }
    listed = (await toss.get("/sandbox/accounts")).json()["items"]
    assert [item["clientKey"] for item in listed] == [CLIENT_A]


def test_ensuring_an_account_registers_it_once_and_keeps_a_registration_made_by_hand() -> None:
    """What `sunap serve` does for a tenant's own account: books of its own at once, and a
    webhook URL given by hand (before or after) is never taken away."""
    clock = SandboxClock()
    accounts = Accounts(clock, WebhookSender(None, clock))
    by_hand = accounts.register(AccountSpec(SHOP_A, CLIENT_A, "http://shop-a.test/hooks"))
    ensured = accounts.ensure_registered(AccountSpec(SHOP_A, CLIENT_A, None))
    assert ensured is by_hand and ensured.webhook_url == "http://shop-a.test/hooks"
    fresh = accounts.ensure_registered(AccountSpec(SHOP_B, None, None))
    assert accounts.for_secret_key(SHOP_B) is fresh is not accounts.default
    assert accounts.ensure_registered(AccountSpec(SHOP_B, None, None)) is fresh


def test_a_reset_keeps_the_accounts_the_host_ensured_with_empty_books() -> None:
    """`sunap serve` ensures each tenant's own account; were a reset to forget it, the tenant's
    key would fall back to the default books, where other tenants' payments are (and its client
    key would be free for anyone to register)."""
    clock = SandboxClock()
    accounts = Accounts(clock, WebhookSender(None, clock))
    ensured = accounts.ensure_registered(AccountSpec(SHOP_A, CLIENT_A, None))
    by_hand = accounts.register(AccountSpec(SHOP_B, None, None))
    ensured.merchant.open_window(order_id="order-before-reset", amount=1000, order_name="x")

    accounts.reset()

    assert accounts.for_secret_key(SHOP_A) is ensured is not accounts.default
    assert ensured.client_key == CLIENT_A and ensured.merchant.payments == {}
    assert accounts.for_secret_key(SHOP_B) is accounts.default is not by_hand
    with pytest.raises(AccountSpecError):
        accounts.register(AccountSpec(UNREGISTERED_KEY, CLIENT_A, None))
