"""Virtual accounts: issue, deposit, DEPOSIT_CALLBACK, cancels and due dates."""

from datetime import datetime, timedelta

import httpx

from tests.sandbox.flows import (
    advance_clock,
    cancel,
    confirm,
    new_order_id,
    open_window,
    paid_card_payment,
)
from tests.sandbox.receiver import WebhookReceiver

REFUND_ACCOUNT = {"bank": "88", "accountNumber": "110123456789", "holderName": "김토스"}


async def issue(toss: httpx.AsyncClient, amount: int = 30000, **extra: object) -> httpx.Response:
    body = {
        "amount": amount,
        "orderId": new_order_id(),
        "orderName": "토스 티셔츠",
        "customerName": "김토스",
        "bank": "신한",
        **extra,
    }
    return await toss.post("/v1/virtual-accounts", json=body)


async def test_an_issued_account_is_paid_and_the_merchant_hears_of_it(
    hooked_toss: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    issued = await issue(hooked_toss)
    assert issued.status_code == 200, issued.text
    payment = issued.json()
    assert payment["status"] == "WAITING_FOR_DEPOSIT"
    assert payment["method"] == "가상계좌"
    assert payment["virtualAccount"]["accountNumber"].startswith("X")
    assert payment["virtualAccount"]["bankCode"] == "88"
    assert payment["virtualAccount"]["expired"] is False
    assert payment["secret"]

    waiting = await receiver.wait_for("DEPOSIT_CALLBACK")
    assert waiting.body == {
        "createdAt": waiting.body["createdAt"],
        "secret": payment["secret"],
        "status": "WAITING_FOR_DEPOSIT",
        "transactionKey": payment["lastTransactionKey"],
        "orderId": payment["orderId"],
    }

    deposited = await hooked_toss.post(f"/sandbox/virtual-accounts/{payment['paymentKey']}/deposit")
    assert deposited.json()["status"] == "DONE"

    done = await receiver.wait_for("DEPOSIT_CALLBACK", lambda hook: hook.body["status"] == "DONE")
    assert done.body["secret"] == payment["secret"]
    assert "eventType" not in done.body
    changed = await receiver.wait_for("PAYMENT_STATUS_CHANGED")
    assert changed.body["data"]["status"] == "DONE"
    assert changed.body["data"]["paymentKey"] == payment["paymentKey"]


async def test_a_waiting_account_cancels_only_in_full(toss: httpx.AsyncClient) -> None:
    payment = (await issue(toss, 30000)).json()

    partial = await cancel(toss, payment["paymentKey"], 10000)
    full = await cancel(toss, payment["paymentKey"])

    assert partial.status_code == 403
    assert partial.json()["code"] == "NOT_ALLOWED_PARTIAL_REFUND_WAITING_DEPOSIT"
    assert full.json()["status"] == "CANCELED"


async def test_a_paid_account_is_refunded_to_the_account_given(toss: httpx.AsyncClient) -> None:
    payment = (await issue(toss, 30000)).json()
    await toss.post(f"/sandbox/virtual-accounts/{payment['paymentKey']}/deposit")

    without_account = await cancel(toss, payment["paymentKey"], 10000)
    refunded = await cancel(toss, payment["paymentKey"], 10000, refundReceiveAccount=REFUND_ACCOUNT)

    assert without_account.status_code == 400
    assert refunded.status_code == 200, refunded.text
    body = refunded.json()
    assert body["status"] == "PARTIAL_CANCELED"
    assert body["balanceAmount"] == 20000
    assert body["virtualAccount"]["refundReceiveAccount"]["accountNumber"] == "110123456789"


async def test_a_window_paid_by_virtual_account_issues_an_account_at_confirm(
    toss: httpx.AsyncClient,
) -> None:
    window = await open_window(toss, 25000, method="VIRTUAL_ACCOUNT")

    payment = (await confirm(toss, window)).json()

    assert payment["status"] == "WAITING_FOR_DEPOSIT"
    assert payment["virtualAccount"]["accountNumber"].startswith("X")


async def test_an_account_past_its_due_date_is_expired_but_still_waiting(
    toss: httpx.AsyncClient,
) -> None:
    payment = (await issue(toss, validHours=2)).json()

    await advance_clock(toss, 2 * 3600 + 1)

    later = (await toss.get(f"/v1/payments/{payment['paymentKey']}")).json()
    assert later["status"] == "WAITING_FOR_DEPOSIT"
    assert later["virtualAccount"]["expired"] is True
    late_deposit = await toss.post(f"/sandbox/virtual-accounts/{payment['paymentKey']}/deposit")
    assert late_deposit.status_code >= 400


async def test_a_deposit_into_a_payment_not_waiting_for_one_says_what_it_is(
    toss: httpx.AsyncClient,
) -> None:
    """The payment exists: a deposit clicked twice, into a cancelled account or on a card
    payment was answered 404 NOT_FOUND_PAYMENT ("존재하지 않는 결제 정보 입니다.")."""
    paid = (await issue(toss)).json()["paymentKey"]
    await toss.post(f"/sandbox/virtual-accounts/{paid}/deposit")
    canceled = (await issue(toss)).json()["paymentKey"]
    assert (await cancel(toss, canceled)).status_code == 200
    card = (await paid_card_payment(toss))["paymentKey"]

    answers = {
        key: await toss.post(
            f"/sandbox/virtual-accounts/{key}/deposit", headers={"Accept-Language": "en-US"}
        )
        for key in (paid, canceled, card)
    }

    assert {key: (a.status_code, a.json()) for key, a in answers.items()} == {
        paid: (
            400,
            {
                "code": "ALREADY_COMPLETED_PAYMENT",
                "message": "The virtual account is not waiting for a deposit: the payment is DONE.",
            },
        ),
        canceled: (
            400,
            {
                "code": "ALREADY_CANCELED_PAYMENT",
                "message": "The virtual account is not waiting for a deposit: "
                "the payment is CANCELED.",
            },
        ),
        card: (
            400,
            {
                "code": "NOT_SUPPORTED_METHOD",
                "message": "Only a virtual account takes a deposit: this payment is not one.",
            },
        ),
    }
    unknown = await toss.post("/sandbox/virtual-accounts/no-such-payment/deposit")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "NOT_FOUND_PAYMENT")


async def test_valid_hours_and_a_due_date_together_are_refused(toss: httpx.AsyncClient) -> None:
    due = (datetime.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")

    both = await issue(toss, validHours=24, dueDate=due)
    unknown_bank = await issue(toss, bank="없는은행")

    assert both.json()["code"] == "INVALID_VALID_HOURS_WITH_DUE_DATE_AND_SINGLE"
    assert unknown_bank.json()["code"] == "INVALID_BANK"
