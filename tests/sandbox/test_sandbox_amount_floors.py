"""Toss's floors: BELOW_MINIMUM_AMOUNT under 100 won by card and 200 by account transfer, and
no instalments under 50,000 won (docs/toss.md 2.4, 2.6 and 4.2; the messages are those of
https://docs.tosspayments.com/reference/error-codes)."""

from typing import Any

import httpx
import pytest

from tests.sandbox.flows import confirm, new_order_id, open_window


def key_in_body(amount: int, months: int = 0) -> dict[str, Any]:
    return {
        "amount": amount,
        "orderId": new_order_id(),
        "orderName": "키인 결제",
        "cardNumber": "5376123412345678",
        "cardExpirationYear": "29",
        "cardExpirationMonth": "07",
        "customerIdentityNumber": "881212",
        "cardInstallmentPlan": months,
    }


async def test_a_50_won_card_confirm_is_below_the_minimum_and_changes_nothing(
    toss: httpx.AsyncClient,
) -> None:
    window = await open_window(toss, 50)

    refused = await confirm(toss, window)

    assert refused.status_code == 400
    assert refused.json() == {
        "code": "BELOW_MINIMUM_AMOUNT",
        "message": "신용카드는 결제금액이 100원 이상, 계좌는 200원이상부터 결제가 가능합니다.",
    }
    payment = (await toss.get(f"/v1/payments/{window['paymentKey']}")).json()
    assert payment["status"] == "IN_PROGRESS"


@pytest.mark.parametrize(
    ("method", "amount", "status"),
    [("CARD", 99, 400), ("CARD", 100, 200), ("TRANSFER", 199, 400), ("TRANSFER", 200, 200)],
)
async def test_the_floor_is_100_won_by_card_and_200_by_transfer(
    toss: httpx.AsyncClient, method: str, amount: int, status: int
) -> None:
    answer = await confirm(toss, await open_window(toss, amount, method=method))

    assert answer.status_code == status, answer.text


async def test_a_50_won_key_in_is_below_the_minimum(toss: httpx.AsyncClient) -> None:
    refused = await toss.post("/v1/payments/key-in", json=key_in_body(50))

    assert refused.status_code == 400
    assert refused.json()["code"] == "BELOW_MINIMUM_AMOUNT"


async def test_a_15000_won_key_in_in_three_instalments_is_refused(toss: httpx.AsyncClient) -> None:
    body = key_in_body(15000, months=3)

    refused = await toss.post("/v1/payments/key-in", json=body)

    assert refused.status_code == 400
    assert refused.json() == {
        "code": "NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN_BELOW_AMOUNT",
        "message": "5만원 이하의 결제는 할부가 불가능해서 결제에 실패했습니다.",
    }
    looked_up = await toss.get(f"/v1/payments/orders/{body['orderId']}")
    assert looked_up.status_code == 404


async def test_instalments_from_50000_won_and_lump_sums_below_it_are_approved(
    toss: httpx.AsyncClient,
) -> None:
    instalments = await toss.post("/v1/payments/key-in", json=key_in_body(50000, months=3))
    lump_sum = await toss.post("/v1/payments/key-in", json=key_in_body(15000, months=0))

    assert instalments.status_code == 200, instalments.text
    assert instalments.json()["card"]["installmentPlanMonths"] == 3
    assert lump_sum.status_code == 200, lump_sum.text


async def test_a_billing_charge_in_instalments_under_50000_won_is_refused(
    toss: httpx.AsyncClient,
) -> None:
    customer_key = "c0ffee00-1111-2222-3333-444455556666"
    auth_key = (await toss.post("/sandbox/billing/auth", json={"customerKey": customer_key})).json()
    billing = await toss.post(
        "/v1/billing/authorizations/issue",
        json={"authKey": auth_key["authKey"], "customerKey": customer_key},
    )
    charge = {"customerKey": customer_key, "orderId": new_order_id(), "orderName": "월간 구독"}

    refused = await toss.post(
        f"/v1/billing/{billing.json()['billingKey']}",
        json={**charge, "amount": 15000, "cardInstallmentPlan": 3},
    )
    too_small = await toss.post(
        f"/v1/billing/{billing.json()['billingKey']}", json={**charge, "amount": 50}
    )

    assert refused.json()["code"] == "NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN_BELOW_AMOUNT"
    assert too_small.json()["code"] == "BELOW_MINIMUM_AMOUNT"


async def test_messages_are_tosss_english_when_asked(toss: httpx.AsyncClient) -> None:
    refused = await confirm(toss, await open_window(toss, 50), **{"Accept-Language": "en-US"})

    assert refused.json()["message"] == (
        "Payment can be made from 100 won or more by credit card, and 200 won or more for account."
    )


async def test_a_payment_carries_the_documented_fields_even_when_empty(
    toss: httpx.AsyncClient,
) -> None:
    payment = (await confirm(toss, await open_window(toss, 10000))).json()

    for name in ("cashReceipt", "cashReceipts", "discount", "foreignEasyPay"):
        assert name in payment
        assert payment[name] is None
