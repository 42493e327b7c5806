"""TossPayments-Test-Code: the forced error comes before anything else is looked at."""

import httpx

from tests.sandbox.flows import confirm, open_window


async def test_a_test_code_answers_that_error_with_its_status(toss: httpx.AsyncClient) -> None:
    window = await open_window(toss)

    forced = await confirm(toss, window, **{"TossPayments-Test-Code": "REJECT_CARD_PAYMENT"})

    assert forced.status_code == 403
    assert forced.json() == {
        "code": "REJECT_CARD_PAYMENT",
        "message": "한도초과 혹은 잔액부족으로 결제에 실패했습니다.",
    }
    still = (await toss.get(f"/v1/payments/{window['paymentKey']}")).json()
    assert still["status"] == "IN_PROGRESS"


async def test_a_test_code_wins_over_an_unknown_payment_key(toss: httpx.AsyncClient) -> None:
    forced = await toss.post(
        "/v1/payments/confirm",
        json={"paymentKey": "dummy", "orderId": "order-dummy-1", "amount": 1000},
        headers={"TossPayments-Test-Code": "FAILED_PAYMENT_INTERNAL_SYSTEM_PROCESSING"},
    )

    assert forced.status_code == 500
    assert forced.json()["code"] == "FAILED_PAYMENT_INTERNAL_SYSTEM_PROCESSING"


async def test_an_unknown_test_code_is_invalid(toss: httpx.AsyncClient) -> None:
    response = await toss.get(
        "/v1/payments/whatever-key", headers={"TossPayments-Test-Code": "NOT_A_TOSS_CODE"}
    )

    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_TEST_CODE"


async def test_the_in_flight_code_answers_409(toss: httpx.AsyncClient) -> None:
    response = await toss.post(
        "/v1/payments/key-in",
        json={},
        headers={"TossPayments-Test-Code": "IDEMPOTENT_REQUEST_PROCESSING"},
    )

    assert response.status_code == 409
