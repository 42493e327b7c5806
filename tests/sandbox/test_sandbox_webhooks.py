"""Webhook deliveries: events, headers, retries on Toss's (compressed) schedule."""

import asyncio
import re

import httpx

from tests.sandbox.flows import advance_clock, cancel, confirm, open_window, paid_card_payment
from tests.sandbox.receiver import WebhookReceiver


async def test_a_confirm_sends_payment_status_changed_with_the_full_payment(
    hooked_toss: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    payment = await paid_card_payment(hooked_toss)

    hook = await receiver.wait_for("PAYMENT_STATUS_CHANGED")

    assert hook.body["data"] == payment
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}", hook.body["createdAt"])
    assert hook.transmission_id.startswith("whtrans_")
    assert hook.retried_count == 0
    assert re.fullmatch(r".*\+09:00", hook.headers["tosspayments-webhook-transmission-time"])


async def test_cancels_send_their_new_status(
    hooked_toss: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    payment = await paid_card_payment(hooked_toss)
    await cancel(hooked_toss, payment["paymentKey"], 1000)
    await cancel(hooked_toss, payment["paymentKey"])

    for status in ("DONE", "PARTIAL_CANCELED", "CANCELED"):
        await receiver.wait_for(
            "PAYMENT_STATUS_CHANGED", lambda hook, s=status: hook.body["data"]["status"] == s
        )


async def test_a_failed_delivery_is_retried_with_the_same_transmission_id(
    hooked_toss: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    receiver.answer_next(500, 503)

    await paid_card_payment(hooked_toss)

    delivered = await receiver.wait_for(
        "PAYMENT_STATUS_CHANGED", lambda hook: hook.retried_count == 2
    )
    tries = receiver.of_type("PAYMENT_STATUS_CHANGED")
    assert [hook.retried_count for hook in tries] == [0, 1, 2]
    assert {hook.transmission_id for hook in tries} == {delivered.transmission_id}
    # The receiver sees the third attempt before the sandbox has logged its answer: wait for it.
    for _ in range(250):
        log = (await hooked_toss.get("/sandbox/webhooks")).json()["items"]
        [delivery] = [item for item in log if item["transmissionId"] == delivered.transmission_id]
        if delivery["state"] != "SENDING":
            break
        await asyncio.sleep(0.02)
    assert [attempt["status"] for attempt in delivery["attempts"]] == [500, 503, 200]
    assert delivery["state"] == "SUCCEEDED"


async def test_a_delivery_that_never_succeeds_fails_after_seven_retries(
    hooked_toss: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    receiver.answer_next(*[500] * 8)
    await paid_card_payment(hooked_toss)

    # The late retries (up to 4096 minutes apart) come due by moving the sandbox clock.
    for _ in range(400):
        [delivery] = (await hooked_toss.get("/sandbox/webhooks")).json()["items"]
        if delivery["state"] != "SENDING":
            break
        await advance_clock(hooked_toss, 600)
        await asyncio.sleep(0.01)

    assert delivery["state"] == "FAILED"
    assert [attempt["retriedCount"] for attempt in delivery["attempts"]] == list(range(8))
    assert [hook.retried_count for hook in receiver.of_type("PAYMENT_STATUS_CHANGED")] == list(
        range(8)
    )


async def test_billing_approvals_send_no_webhook_but_deleting_the_key_does(
    hooked_toss: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    auth = (
        await hooked_toss.post("/sandbox/billing/auth", json={"customerKey": "cust-hook-1"})
    ).json()
    billing = (await hooked_toss.post("/v1/billing/authorizations/issue", json=auth)).json()
    charged = await hooked_toss.post(
        f"/v1/billing/{billing['billingKey']}",
        json={
            "customerKey": "cust-hook-1",
            "amount": 4900,
            "orderId": "bill-hook-0001",
            "orderName": "구독",
        },
    )
    assert charged.status_code == 200

    await hooked_toss.delete(f"/v1/billing/{billing['billingKey']}")

    deleted = await receiver.wait_for("BILLING_DELETED")
    assert deleted.body["data"] == {"billingKey": billing["billingKey"], "reason": "삭제 API 요청"}
    assert receiver.of_type("PAYMENT_STATUS_CHANGED") == []


async def test_an_aborted_payment_sends_its_status(
    hooked_toss: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    window = await open_window(hooked_toss, failWith="REJECT_CARD_COMPANY")
    await confirm(hooked_toss, window)

    hook = await receiver.wait_for("PAYMENT_STATUS_CHANGED")

    assert hook.body["data"]["status"] == "ABORTED"
    assert hook.body["data"]["failure"]["code"] == "REJECT_CARD_COMPANY"


async def test_the_webhook_log_names_the_deleted_billing_key_the_merchant_gets_it(
    hooked_toss: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    auth = (
        await hooked_toss.post("/sandbox/billing/auth", json={"customerKey": "cust-hook-2"})
    ).json()
    billing = (await hooked_toss.post("/v1/billing/authorizations/issue", json=auth)).json()
    await hooked_toss.delete(f"/v1/billing/{billing['billingKey']}")

    sent = await receiver.wait_for("BILLING_DELETED")
    listed = await hooked_toss.get("/sandbox/webhooks")

    assert sent.body["data"]["billingKey"] == billing["billingKey"]  # Toss sends it to the shop
    assert billing["billingKey"] not in listed.text  # but the control plane answers anyone
    [delivery] = listed.json()["items"]
    assert delivery["eventType"] == "BILLING_DELETED"
    assert delivery["body"]["data"] == {"billingKey": "{billingKey}", "reason": "삭제 API 요청"}
