"""Transactions, settlements and cash receipts (docs/toss.md 2.7; Toss's test mode settles
nothing, docs/toss.md 8)."""

from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from tests.sandbox.flows import cancel, new_order_id, paid_card_payment

KST = timezone(timedelta(hours=9))


def today() -> str:
    return datetime.now(KST).date().isoformat()


def around_now() -> dict[str, str]:
    now = datetime.now(KST).replace(microsecond=0, tzinfo=None)
    return {
        "startDate": (now - timedelta(hours=1)).isoformat(),
        "endDate": (now + timedelta(hours=1)).isoformat(),
    }


async def test_transactions_list_each_approval_and_cancel_oldest_first(
    toss: httpx.AsyncClient,
) -> None:
    payment = await paid_card_payment(toss, 10000)
    canceled = (await cancel(toss, payment["paymentKey"], 4000)).json()

    answer = await toss.get("/v1/transactions", params=around_now())

    assert answer.status_code == 200, answer.text
    listed = answer.json()
    assert isinstance(listed, list)
    assert [(t["status"], t["amount"]) for t in listed] == [
        ("DONE", 10000),
        ("PARTIAL_CANCELED", 4000),
    ]
    assert listed[1]["transactionKey"] == canceled["lastTransactionKey"]
    assert {t["paymentKey"] for t in listed} == {payment["paymentKey"]}
    assert listed[0]["method"] == "카드"
    assert listed[0]["currency"] == "KRW"


async def test_transactions_page_with_starting_after_and_limit(toss: httpx.AsyncClient) -> None:
    for _ in range(3):
        await paid_card_payment(toss)
    first_page = (await toss.get("/v1/transactions", params={**around_now(), "limit": 2})).json()

    rest = await toss.get(
        "/v1/transactions",
        params={**around_now(), "startingAfter": first_page[-1]["transactionKey"]},
    )

    assert len(first_page) == 2
    assert len(rest.json()) == 1
    assert rest.json()[0]["transactionKey"] not in {t["transactionKey"] for t in first_page}


async def test_transactions_outside_the_dates_are_left_out(toss: httpx.AsyncClient) -> None:
    await paid_card_payment(toss)

    answer = await toss.get(
        "/v1/transactions",
        params={"startDate": "2020-01-01T00:00:00", "endDate": "2020-01-02T00:00:00"},
    )

    assert answer.json() == []


async def test_transactions_need_both_dates_and_a_sane_limit(toss: httpx.AsyncClient) -> None:
    missing = await toss.get("/v1/transactions", params={"startDate": "2020-01-01T00:00:00"})
    too_many = await toss.get("/v1/transactions", params={**around_now(), "limit": 5001})

    assert (missing.status_code, missing.json()["code"]) == (400, "INVALID_REQUEST")
    assert (too_many.status_code, too_many.json()["code"]) == (400, "EXCEED_MAX_QUERY_LIMIT")


async def test_settlements_are_an_empty_list_in_test_mode(toss: httpx.AsyncClient) -> None:
    await paid_card_payment(toss)

    answer = await toss.get(
        "/v1/settlements", params={"startDate": today(), "endDate": today(), "dateType": "soldDate"}
    )
    undated = await toss.get("/v1/settlements")

    assert (answer.status_code, answer.json()) == (200, [])
    assert (undated.status_code, undated.json()["code"]) == (400, "INVALID_REQUEST")


def receipt_body(**extra: Any) -> dict[str, Any]:
    return {
        "amount": 15000,
        "orderId": new_order_id(),
        "orderName": "토스 티셔츠",
        "customerIdentityNumber": "01012345678",
        "type": "소득공제",
        **extra,
    }


async def test_a_cash_receipt_is_issued_then_listed_as_completed(toss: httpx.AsyncClient) -> None:
    issued = await toss.post("/v1/cash-receipts", json=receipt_body())

    assert issued.status_code == 200, issued.text
    receipt = issued.json()
    assert receipt["issueStatus"] == "IN_PROGRESS"
    assert receipt["transactionType"] == "CONFIRM"
    assert receipt["amount"] == 15000
    listed = (await toss.get("/v1/cash-receipts", params={"requestDate": today()})).json()
    assert listed["hasNext"] is False
    assert [(r["receiptKey"], r["issueStatus"]) for r in listed["data"]] == [
        (receipt["receiptKey"], "COMPLETED")
    ]


async def test_a_cash_receipt_cancel_is_a_cancel_row_and_cannot_repeat(
    toss: httpx.AsyncClient,
) -> None:
    receipt = (await toss.post("/v1/cash-receipts", json=receipt_body())).json()

    canceled = await toss.post(f"/v1/cash-receipts/{receipt['receiptKey']}/cancel", json={})
    again = await toss.post(f"/v1/cash-receipts/{receipt['receiptKey']}/cancel", json={})
    unknown = await toss.post("/v1/cash-receipts/no-such-receipt/cancel", json={})

    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["transactionType"] == "CANCEL"
    assert canceled.json()["amount"] == 15000
    assert canceled.json()["canceledAt"] is not None
    assert again.status_code == 400
    assert (unknown.status_code, unknown.json()["code"]) == (404, "NOT_FOUND")
    listed = (await toss.get("/v1/cash-receipts", params={"requestDate": today()})).json()
    assert [r["transactionType"] for r in listed["data"]] == ["CONFIRM", "CANCEL"]


async def test_the_cash_receipt_list_pages_with_its_cursor(toss: httpx.AsyncClient) -> None:
    for _ in range(3):
        await toss.post("/v1/cash-receipts", json=receipt_body())

    first = (
        await toss.get("/v1/cash-receipts", params={"requestDate": today(), "limit": 2})
    ).json()
    rest = (
        await toss.get(
            "/v1/cash-receipts",
            params={"requestDate": today(), "cursor": first["lastCursor"], "limit": 2},
        )
    ).json()

    assert (len(first["data"]), first["hasNext"]) == (2, True)
    assert (len(rest["data"]), rest["hasNext"]) == (1, False)


async def test_a_second_receipt_for_one_order_and_a_bad_type_are_refused(
    toss: httpx.AsyncClient,
) -> None:
    body = receipt_body()
    await toss.post("/v1/cash-receipts", json=body)

    duplicate = await toss.post("/v1/cash-receipts", json=body)
    bad_type = await toss.post("/v1/cash-receipts", json=receipt_body(type="영수증"))

    assert duplicate.json()["code"] == "DUPLICATED_CASH_RECEIPT"
    assert (bad_type.status_code, bad_type.json()["code"]) == (400, "INVALID_REQUEST")
