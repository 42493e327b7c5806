"""The sandbox clock makes expiries happen; reset forgets everything."""

import httpx
import pytest

from tests.sandbox.flows import advance_clock, confirm, open_window, paid_card_payment
from tests.sandbox.receiver import WebhookReceiver


async def test_an_unconfirmed_payment_expires_after_ten_minutes(toss: httpx.AsyncClient) -> None:
    window = await open_window(toss)

    await advance_clock(toss, 9 * 60)
    before = (await toss.get(f"/v1/payments/{window['paymentKey']}")).json()
    await advance_clock(toss, 60)
    after = (await toss.get(f"/v1/payments/{window['paymentKey']}")).json()

    assert before["status"] == "IN_PROGRESS"
    assert after["status"] == "EXPIRED"
    assert after["failure"] == {
        "code": "EXPIRED_PAYMENT",
        "message": "결제가 만료되었습니다. 다시 시도해주세요.",
    }
    assert after["method"] is None
    late = await confirm(toss, window)
    assert late.status_code == 404
    assert late.json()["code"] == "NOT_FOUND_PAYMENT_SESSION"


async def test_an_expiry_is_announced_by_webhook(
    hooked_toss: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    window = await open_window(hooked_toss)

    await advance_clock(hooked_toss, 10 * 60)

    hook = await receiver.wait_for("PAYMENT_STATUS_CHANGED")
    assert hook.body["data"]["paymentKey"] == window["paymentKey"]
    assert hook.body["data"]["status"] == "EXPIRED"


async def test_an_open_window_expires_after_thirty_minutes(
    toss: httpx.AsyncClient, sandbox_url: str
) -> None:
    page = await toss.get(
        "/sandbox/checkout",
        params={
            "orderId": "ready-order-0001",
            "amount": 5000,
            "successUrl": "http://shop.test/ok",
            "failUrl": "http://shop.test/fail",
        },
    )
    assert page.status_code == 200

    await advance_clock(toss, 29 * 60)
    before = (await toss.get("/v1/payments/orders/ready-order-0001")).json()
    await advance_clock(toss, 60)
    after = (await toss.get("/v1/payments/orders/ready-order-0001")).json()

    assert before["status"] == "READY"
    assert after["status"] == "EXPIRED"


async def test_the_clock_only_moves_forward(toss: httpx.AsyncClient) -> None:
    response = await toss.post("/sandbox/clock", json={"advanceSeconds": -5})

    assert response.status_code == 400


async def test_reset_forgets_payments_calls_and_faults(toss: httpx.AsyncClient) -> None:
    payment = await paid_card_payment(toss)
    await toss.post("/sandbox/faults", json={"status": 500, "times": 5})

    reset = await toss.post("/sandbox/reset")

    assert reset.status_code == 200
    assert (await toss.get("/sandbox/faults")).json()["items"] == []
    assert (await toss.get("/sandbox/calls")).json()["items"] == []
    gone = await toss.get(f"/v1/payments/{payment['paymentKey']}")
    assert gone.status_code == 404
    assert gone.json()["code"] == "NOT_FOUND_PAYMENT"


async def test_every_toss_call_is_logged_oldest_first(toss: httpx.AsyncClient) -> None:
    window = await open_window(toss)
    await confirm(toss, window, **{"Idempotency-Key": "logged-key-1"})
    await toss.get(f"/v1/payments/{window['paymentKey']}")

    items = (await toss.get("/sandbox/calls")).json()["items"]

    assert [(i["method"], i["path"], i["status"], i["idempotencyKey"]) for i in items] == [
        ("POST", "/v1/payments/confirm", 200, "logged-key-1"),
        ("GET", f"/v1/payments/{window['paymentKey']}", 200, None),
    ]
    assert all(item["at"].endswith("+09:00") for item in items)


@pytest.mark.parametrize(
    ("advance", "says"),
    [
        ("NaN", "finite"),  # Python's JSON reader takes these three
        ("Infinity", "finite"),
        ("-Infinity", "finite"),
        ("253000000000", "100 years"),  # past the year 9999: every call answered 500 after it
        ("1e300", "100 years"),
        pytest.param("1" + "0" * 400, "100 years", id="10**400"),  # too large for a float
        ('"60"', "number"),
    ],
)
async def test_an_advance_the_clock_cannot_make_is_refused_and_the_sandbox_goes_on(
    toss: httpx.AsyncClient, advance: str, says: str
) -> None:
    refused = await toss.post(
        "/sandbox/clock",
        content=f'{{"advanceSeconds": {advance}}}'.encode(),
        headers={"Content-Type": "application/json"},
    )

    assert refused.status_code == 400
    assert refused.json()["code"] == "INVALID_REQUEST"
    assert says in refused.json()["message"]
    assert (await toss.get("/sandbox/clock")).status_code == 200
    payment = await paid_card_payment(toss)
    assert (await toss.get(f"/v1/payments/{payment['paymentKey']}")).status_code == 200
    assert (await toss.post("/sandbox/reset")).status_code == 200


async def test_the_clock_moves_at_most_a_hundred_years_until_a_reset(
    toss: httpx.AsyncClient,
) -> None:
    year = 365 * 24 * 3600
    await advance_clock(toss, 99 * year)

    beyond = await toss.post("/sandbox/clock", json={"advanceSeconds": 2 * year})
    assert beyond.status_code == 400
    assert "POST /sandbox/reset" in beyond.json()["message"]
    window = await open_window(toss)  # still answers, its timers on the moved clock
    assert (await confirm(toss, window)).json()["status"] == "DONE"

    assert (await toss.post("/sandbox/reset")).status_code == 200
    await advance_clock(toss, 2 * year)
