"""A card payment through its whole life, as a merchant sees it over HTTP."""

import re

import httpx

from tests.sandbox.flows import cancel, confirm, open_window, paid_card_payment

PAYMENT_KEYS = {
    "mId", "version", "paymentKey", "type", "orderId", "orderName", "currency", "method",
    "totalAmount", "balanceAmount", "status", "requestedAt", "approvedAt", "useEscrow",
    "lastTransactionKey", "transactionKey", "suppliedAmount", "vat", "cultureExpense",
    "taxFreeAmount", "taxExemptionAmount", "cancels", "isPartialCancelable", "card",
    "virtualAccount", "secret", "mobilePhone", "giftCertificate", "transfer", "metadata",
    "receipt", "checkout", "easyPay", "easyPayAmount", "easyPayDiscountAmount", "country",
    "failure", "cashReceipt", "cashReceipts", "discount",
}  # fmt: skip
TOSS_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+09:00")


async def test_a_card_payment_walks_from_window_to_full_cancel(toss: httpx.AsyncClient) -> None:
    window = await open_window(toss, 15000)

    confirmed = await confirm(toss, window)
    assert confirmed.status_code == 200
    payment = confirmed.json()
    assert set(payment) >= PAYMENT_KEYS
    assert payment["status"] == "DONE"
    assert payment["method"] == "카드"
    assert payment["version"] == "2022-11-16"
    assert payment["type"] == "NORMAL"
    assert payment["totalAmount"] == payment["balanceAmount"] == 15000
    assert (payment["suppliedAmount"], payment["vat"]) == (13636, 1364)
    assert re.fullmatch(r"\d{8}\*{4}\d{3}\*", payment["card"]["number"])
    assert payment["card"]["issuerCode"].isdigit()
    assert TOSS_TIME.fullmatch(payment["approvedAt"])
    assert TOSS_TIME.fullmatch(payment["requestedAt"])
    assert payment["cancels"] is None
    assert payment["virtualAccount"] is None
    assert payment["secret"] is None

    by_key = (await toss.get(f"/v1/payments/{window['paymentKey']}")).json()
    by_order = (await toss.get(f"/v1/payments/orders/{window['orderId']}")).json()
    assert by_key == by_order == payment

    partial = (await cancel(toss, window["paymentKey"], 5000)).json()
    assert partial["status"] == "PARTIAL_CANCELED"
    assert partial["balanceAmount"] == 10000
    assert (partial["suppliedAmount"], partial["vat"]) == (9091, 909)
    [first] = partial["cancels"]
    assert first["cancelAmount"] == 5000
    assert first["refundableAmount"] == 10000
    assert first["cancelStatus"] == "DONE"
    assert partial["lastTransactionKey"] == first["transactionKey"]
    assert first["transactionKey"] != payment["lastTransactionKey"]

    full = (await cancel(toss, window["paymentKey"])).json()
    assert full["status"] == "CANCELED"
    assert full["balanceAmount"] == 0
    assert (full["suppliedAmount"], full["vat"]) == (0, 0)
    assert [c["cancelAmount"] for c in full["cancels"]] == [5000, 10000]
    assert full["cancels"][-1]["refundableAmount"] == 0
    assert full["lastTransactionKey"] == full["cancels"][-1]["transactionKey"]


async def test_a_second_confirm_is_already_processed(toss: httpx.AsyncClient) -> None:
    window = await open_window(toss)
    assert (await confirm(toss, window)).status_code == 200

    again = await confirm(toss, window)

    assert again.status_code == 400
    assert again.json()["code"] == "ALREADY_PROCESSED_PAYMENT"


async def test_an_order_paid_in_one_window_is_not_approved_again_from_another(
    toss: httpx.AsyncClient,
) -> None:
    """Two windows of one order (two tabs): Toss approves one payment per orderId."""
    first = await open_window(toss)
    second_window = await toss.post(
        "/sandbox/payments", json={"orderId": first["orderId"], "amount": 10000}
    )
    second = second_window.json()
    assert (await confirm(toss, first)).status_code == 200

    refused = await confirm(toss, second)

    assert refused.status_code == 400 and refused.json()["code"] == "DUPLICATED_ORDER_ID"
    by_order = await toss.get(f"/v1/payments/orders/{first['orderId']}")
    assert by_order.json()["paymentKey"] == first["paymentKey"]
    assert by_order.json()["status"] == "DONE"


async def test_a_confirm_with_another_amount_is_refused_and_the_payment_stays_confirmable(
    toss: httpx.AsyncClient,
) -> None:
    window = await open_window(toss, 10000)

    tampered = await confirm(toss, {**window, "amount": 100})

    assert tampered.status_code == 400
    assert tampered.json()["code"] == "INVALID_REQUEST"
    assert (await confirm(toss, window)).json()["status"] == "DONE"


async def test_amounts_may_come_as_numeric_strings(toss: httpx.AsyncClient) -> None:
    window = await open_window(toss, 10000)

    confirmed = await confirm(toss, {**window, "amount": "10000"})

    assert confirmed.status_code == 200
    assert confirmed.json()["totalAmount"] == 10000


async def test_a_window_set_to_fail_aborts_the_payment_at_confirm(toss: httpx.AsyncClient) -> None:
    window = await open_window(toss, failWith="REJECT_CARD_PAYMENT")

    refused = await confirm(toss, window)

    assert refused.status_code == 403
    assert refused.json() == {
        "code": "REJECT_CARD_PAYMENT",
        "message": "한도초과 혹은 잔액부족으로 결제에 실패했습니다.",
    }
    payment = (await toss.get(f"/v1/payments/{window['paymentKey']}")).json()
    assert payment["status"] == "ABORTED"
    assert payment["failure"]["code"] == "REJECT_CARD_PAYMENT"


async def test_cancelling_more_than_the_balance_is_not_cancelable(
    toss: httpx.AsyncClient,
) -> None:
    payment = await paid_card_payment(toss, 10000)

    over = await cancel(toss, payment["paymentKey"], 10001)

    assert over.status_code == 403
    assert over.json()["code"] == "NOT_CANCELABLE_AMOUNT"


async def test_cancelling_a_canceled_payment_is_already_canceled(toss: httpx.AsyncClient) -> None:
    payment = await paid_card_payment(toss)
    assert (await cancel(toss, payment["paymentKey"])).status_code == 200

    again = await cancel(toss, payment["paymentKey"])

    assert again.status_code == 400
    assert again.json()["code"] == "ALREADY_CANCELED_PAYMENT"


async def test_a_payment_not_yet_confirmed_cannot_be_canceled(toss: httpx.AsyncClient) -> None:
    window = await open_window(toss)

    refused = await cancel(toss, window["paymentKey"])

    assert refused.status_code == 403
    assert refused.json()["code"] == "NOT_CANCELABLE_PAYMENT"


async def test_a_cancel_with_a_stale_refundable_amount_is_refused(toss: httpx.AsyncClient) -> None:
    payment = await paid_card_payment(toss, 10000)

    stale = await cancel(toss, payment["paymentKey"], 1000, refundableAmount=9000)

    assert stale.status_code == 400
    assert stale.json()["code"] == "NOT_MATCHES_REFUNDABLE_AMOUNT"


async def test_a_key_in_payment_is_approved_at_once(toss: httpx.AsyncClient) -> None:
    response = await toss.post(
        "/v1/payments/key-in",
        json={
            "amount": 20000,
            "orderId": "keyin-order-0001",
            "orderName": "키인 결제",
            "cardNumber": "5376123412345678",
            "cardExpirationYear": "29",
            "cardExpirationMonth": "07",
            "customerIdentityNumber": "881212",
        },
    )

    assert response.status_code == 200, response.text
    payment = response.json()
    assert payment["status"] == "DONE"
    assert payment["card"]["number"] == "53761234****567*"


async def test_easy_pay_and_transfer_windows_confirm_with_their_korean_method(
    toss: httpx.AsyncClient,
) -> None:
    easy = (await confirm(toss, await open_window(toss, method="EASY_PAY"))).json()
    transfer = (await confirm(toss, await open_window(toss, method="TRANSFER"))).json()

    assert (easy["method"], easy["easyPay"]["provider"]) == ("간편결제", "토스페이")
    assert (transfer["method"], transfer["transfer"]["bankCode"]) == ("계좌이체", "88")
