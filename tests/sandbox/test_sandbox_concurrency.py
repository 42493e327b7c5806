"""Concurrent calls on one payment: one approval, and a balance that never goes below zero."""

import asyncio

import httpx

from tests.sandbox.flows import cancel, confirm, open_window, paid_card_payment


async def test_twenty_concurrent_confirms_approve_once(toss: httpx.AsyncClient) -> None:
    window = await open_window(toss)

    answers = await asyncio.gather(*(confirm(toss, window) for _ in range(20)))

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] + [400] * 19
    assert {a.json()["code"] for a in answers if a.status_code == 400} == {
        "ALREADY_PROCESSED_PAYMENT"
    }
    calls = (await toss.get("/sandbox/calls")).json()["items"]
    assert sum(1 for call in calls if call["status"] == 200) == 1


async def test_twenty_concurrent_partial_cancels_never_overdraw(toss: httpx.AsyncClient) -> None:
    payment = await paid_card_payment(toss, 10000)

    answers = await asyncio.gather(*(cancel(toss, payment["paymentKey"], 700) for _ in range(20)))

    accepted = [answer for answer in answers if answer.status_code == 200]
    refused = [answer for answer in answers if answer.status_code != 200]
    assert len(accepted) == 14  # 14 x 700 = 9800 <= 10000 < 15 x 700
    assert {answer.json()["code"] for answer in refused} == {"NOT_CANCELABLE_AMOUNT"}
    final = (await toss.get(f"/v1/payments/{payment['paymentKey']}")).json()
    assert final["balanceAmount"] == 200
    assert sum(c["cancelAmount"] for c in final["cancels"]) == 9800
    assert sorted(c["refundableAmount"] for c in final["cancels"]) == list(range(200, 10000, 700))
    assert len({c["transactionKey"] for c in final["cancels"]}) == 14
