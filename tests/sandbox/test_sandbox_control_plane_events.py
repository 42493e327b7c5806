"""The control plane's deposit error and on-demand webhooks (docs/toss.md 3.3 and 6.2: a deposit
error takes a virtual account from DONE back to WAITING_FOR_DEPOSIT with a DEPOSIT_CALLBACK)."""

import httpx

from tests.sandbox.flows import cancel, new_order_id, paid_card_payment
from tests.sandbox.receiver import WebhookReceiver


async def paid_account(toss: httpx.AsyncClient) -> dict[str, object]:
    issued = await toss.post(
        "/v1/virtual-accounts",
        json={
            "amount": 30000,
            "orderId": new_order_id(),
            "orderName": "토스 티셔츠",
            "customerName": "김토스",
            "bank": "신한",
        },
    )
    payment = issued.json()
    deposited = await toss.post(f"/sandbox/virtual-accounts/{payment['paymentKey']}/deposit")
    assert deposited.json()["status"] == "DONE"
    return dict(deposited.json())


async def test_a_deposit_error_puts_the_account_back_to_waiting_and_says_so(
    hooked_toss: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    payment = await paid_account(hooked_toss)

    errored = await hooked_toss.post(
        f"/sandbox/virtual-accounts/{payment['paymentKey']}/deposit-error"
    )

    assert errored.status_code == 200, errored.text
    assert errored.json()["status"] == "WAITING_FOR_DEPOSIT"
    assert errored.json()["approvedAt"] is None
    hook = await receiver.wait_for(
        "DEPOSIT_CALLBACK",
        lambda h: (
            h.body["status"] == "WAITING_FOR_DEPOSIT"
            and h.body["transactionKey"] == errored.json()["lastTransactionKey"]
        ),
    )
    assert hook.body["secret"] == payment["secret"]
    looked_up = (await hooked_toss.get(f"/v1/payments/{payment['paymentKey']}")).json()
    assert looked_up["status"] == "WAITING_FOR_DEPOSIT"
    again = await hooked_toss.post(f"/sandbox/virtual-accounts/{payment['paymentKey']}/deposit")
    assert again.json()["status"] == "DONE"


async def test_a_deposit_error_needs_a_paid_virtual_account(toss: httpx.AsyncClient) -> None:
    card = await paid_card_payment(toss)

    refused = await toss.post(f"/sandbox/virtual-accounts/{card['paymentKey']}/deposit-error")
    unknown = await toss.post("/sandbox/virtual-accounts/no-such-payment/deposit-error")

    assert (refused.status_code, refused.json()["code"]) == (403, "NOT_CANCELABLE_PAYMENT")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "NOT_FOUND_PAYMENT")
    assert (await toss.get(f"/v1/payments/{card['paymentKey']}")).json()["status"] == "DONE"


async def test_a_triggered_status_webhook_carries_the_payment_as_it_is(
    hooked_toss: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    payment = await paid_card_payment(hooked_toss)
    await receiver.wait_for("PAYMENT_STATUS_CHANGED")

    triggered = await hooked_toss.post(
        "/sandbox/webhooks/trigger",
        json={"eventType": "PAYMENT_STATUS_CHANGED", "paymentKey": payment["paymentKey"]},
    )

    assert triggered.status_code == 200, triggered.text
    assert triggered.json()["body"]["data"]["paymentKey"] == payment["paymentKey"]
    await receiver.wait_for(
        "PAYMENT_STATUS_CHANGED",
        lambda h: h.body["createdAt"] == triggered.json()["body"]["createdAt"],
    )
    assert len(receiver.of_type("PAYMENT_STATUS_CHANGED")) == 2


async def test_a_status_webhook_triggered_without_a_payment_approves_a_fresh_one(
    hooked_toss: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    triggered = await hooked_toss.post(
        "/sandbox/webhooks/trigger", json={"eventType": "PAYMENT_STATUS_CHANGED", "amount": 4900}
    )

    sent = triggered.json()["body"]["data"]
    assert (sent["status"], sent["totalAmount"]) == ("DONE", 4900)
    hook = await receiver.wait_for("PAYMENT_STATUS_CHANGED")
    assert hook.body["data"]["paymentKey"] == sent["paymentKey"]
    looked_up = await hooked_toss.get(f"/v1/payments/{sent['paymentKey']}")
    assert looked_up.json()["status"] == "DONE"


async def test_deposit_callback_billing_deleted_and_cancel_events_can_be_triggered(
    hooked_toss: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    account = await paid_account(hooked_toss)
    card = await paid_card_payment(hooked_toss)
    await cancel(hooked_toss, str(card["paymentKey"]), 1000)

    deposit = await hooked_toss.post(
        "/sandbox/webhooks/trigger",
        json={"eventType": "DEPOSIT_CALLBACK", "paymentKey": account["paymentKey"]},
    )
    deleted = await hooked_toss.post(
        "/sandbox/webhooks/trigger", json={"eventType": "BILLING_DELETED", "billingKey": "bk-1"}
    )
    canceled = await hooked_toss.post(
        "/sandbox/webhooks/trigger",
        json={"eventType": "CANCEL_STATUS_CHANGED", "paymentKey": card["paymentKey"]},
    )

    assert deposit.json()["body"]["status"] == "DONE"
    assert "eventType" not in deposit.json()["body"]
    assert deleted.json()["body"]["data"]["billingKey"] == "bk-1"
    assert canceled.json()["body"]["data"]["cancelAmount"] == 1000
    await receiver.wait_for("BILLING_DELETED")
    await receiver.wait_for("CANCEL_STATUS_CHANGED")


async def test_an_unknown_event_or_a_missing_payment_is_refused(toss: httpx.AsyncClient) -> None:
    card = await paid_card_payment(toss)

    unknown = await toss.post("/sandbox/webhooks/trigger", json={"eventType": "NO_SUCH_EVENT"})
    no_type = await toss.post("/sandbox/webhooks/trigger", json={})
    not_an_account = await toss.post(
        "/sandbox/webhooks/trigger",
        json={"eventType": "DEPOSIT_CALLBACK", "paymentKey": card["paymentKey"]},
    )

    assert (unknown.status_code, unknown.json()["code"]) == (400, "INVALID_REQUEST")
    assert no_type.status_code == 400
    assert not_an_account.status_code == 400
