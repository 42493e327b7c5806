"""Toss's one-second rule: a second cancel of one payment within a second is refused
(docs/toss.md, 2.3 "Pacing"; https://docs.tosspayments.com/guides/apis/cancel-payment:
"1초에 2번 이상 취소 요청을 보내면 첫 번째 요청만 처리됩니다")."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.sandbox.flows import advance_clock, cancel, paid_card_payment
from tests.support.sandbox_server import SANDBOX_SECRET_KEY, running_sandbox


@pytest.fixture
async def paced_toss() -> AsyncIterator[httpx.AsyncClient]:
    """A sandbox with Toss's rule on, as `toss-sandbox` and the `toss_sandbox` fixture run it."""
    with running_sandbox(consecutive_cancel_window_seconds=1.0) as url:
        async with httpx.AsyncClient(
            base_url=url, auth=(SANDBOX_SECRET_KEY, ""), timeout=10
        ) as client:
            yield client


async def test_a_second_cancel_within_a_second_is_refused_and_only_the_first_counts(
    paced_toss: httpx.AsyncClient,
) -> None:
    payment = await paid_card_payment(paced_toss, 10000)

    first = await cancel(paced_toss, payment["paymentKey"], 3000)
    second = await cancel(paced_toss, payment["paymentKey"], 2000)

    assert first.status_code == 200, first.text
    assert second.status_code == 403
    assert second.json() == {
        "code": "FORBIDDEN_CONSECUTIVE_REQUEST",
        "message": "반복적인 요청은 허용되지 않습니다.",
    }
    now = (await paced_toss.get(f"/v1/payments/{payment['paymentKey']}")).json()
    assert now["balanceAmount"] == 7000
    assert [c["cancelAmount"] for c in now["cancels"]] == [3000]


async def test_a_cancel_a_second_later_is_processed(paced_toss: httpx.AsyncClient) -> None:
    payment = await paid_card_payment(paced_toss, 10000)
    assert (await cancel(paced_toss, payment["paymentKey"], 3000)).status_code == 200

    await advance_clock(paced_toss, 1.0)
    later = await cancel(paced_toss, payment["paymentKey"])

    assert later.status_code == 200, later.text
    assert later.json()["status"] == "CANCELED"
    assert later.json()["balanceAmount"] == 0


async def test_a_refused_cancel_retried_with_its_key_runs_for_real_once_the_second_passed(
    paced_toss: httpx.AsyncClient,
) -> None:
    payment = await paid_card_payment(paced_toss, 10000)
    key = {"Idempotency-Key": "retry-after-consecutive-0001"}
    assert (await cancel(paced_toss, payment["paymentKey"], 1000)).status_code == 200
    refused = await paced_toss.post(
        f"/v1/payments/{payment['paymentKey']}/cancel",
        json={"cancelReason": "고객 변심", "cancelAmount": 2000},
        headers=key,
    )
    assert refused.json()["code"] == "FORBIDDEN_CONSECUTIVE_REQUEST"

    await advance_clock(paced_toss, 1.0)
    retried = await paced_toss.post(
        f"/v1/payments/{payment['paymentKey']}/cancel",
        json={"cancelReason": "고객 변심", "cancelAmount": 2000},
        headers=key,
    )

    assert retried.status_code == 200, retried.text
    assert retried.json()["balanceAmount"] == 7000


async def test_a_cancel_refused_before_it_changed_anything_starts_no_window(
    paced_toss: httpx.AsyncClient,
) -> None:
    """Only "the last one processed" (README) starts the window: a cancel refused for its body or
    its amount was not carried out, so the corrected one sent right after is."""
    payment = await paid_card_payment(paced_toss, 15000)
    url = f"/v1/payments/{payment['paymentKey']}/cancel"

    no_reason = await paced_toss.post(url, json={"cancelAmount": 5000})
    corrected = await cancel(paced_toss, payment["paymentKey"], 5000)
    await advance_clock(paced_toss, 1.0)
    too_much = await cancel(paced_toss, payment["paymentKey"], 999999)
    corrected_again = await cancel(paced_toss, payment["paymentKey"], 5000)

    assert no_reason.json()["code"] == "INVALID_REQUEST"
    assert corrected.status_code == 200, corrected.text
    assert too_much.json()["code"] == "NOT_CANCELABLE_AMOUNT"
    assert corrected_again.status_code == 200, corrected_again.text
    assert corrected_again.json()["balanceAmount"] == 5000


async def test_a_cancel_answered_by_a_fault_before_toss_processed_it_starts_no_window(
    paced_toss: httpx.AsyncClient,
) -> None:
    """The fault stands for Toss not processing the cancel: the retry with its key runs."""
    payment = await paid_card_payment(paced_toss, 10000)
    url = f"/v1/payments/{payment['paymentKey']}/cancel"
    await paced_toss.post("/sandbox/faults", json={"path": url, "status": 500})
    key = {"Idempotency-Key": "fault-then-retry-0001"}

    failed = await paced_toss.post(url, json={"cancelReason": "반품"}, headers=key)
    retried = await paced_toss.post(url, json={"cancelReason": "반품"}, headers=key)

    assert failed.status_code == 500
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "CANCELED"


async def test_a_cancel_carried_out_before_its_answer_failed_starts_the_window(
    paced_toss: httpx.AsyncClient,
) -> None:
    payment = await paid_card_payment(paced_toss, 10000)
    url = f"/v1/payments/{payment['paymentKey']}/cancel"
    await paced_toss.post("/sandbox/faults", json={"path": url, "status": 500, "afterApply": True})

    lost = await cancel(paced_toss, payment["paymentKey"], 1000)
    next_one = await cancel(paced_toss, payment["paymentKey"], 1000)

    assert lost.status_code == 500
    assert next_one.json()["code"] == "FORBIDDEN_CONSECUTIVE_REQUEST"
    assert (await paced_toss.get(url.removesuffix("/cancel"))).json()["balanceAmount"] == 9000


async def test_a_cancel_that_waited_on_a_slow_answer_yields_to_one_processed_meanwhile() -> None:
    """Admitted, then held by a delay fault while another cancel of the payment is carried out:
    of the two, only the one processed first counts."""
    with running_sandbox(consecutive_cancel_window_seconds=60.0) as url:
        async with httpx.AsyncClient(
            base_url=url, auth=(SANDBOX_SECRET_KEY, ""), timeout=10
        ) as toss:
            payment = await paid_card_payment(toss, 10000)
            cancel_url = f"/v1/payments/{payment['paymentKey']}/cancel"
            await toss.post("/sandbox/faults", json={"path": cancel_url, "delayMs": 1000})
            slow = asyncio.create_task(cancel(toss, payment["paymentKey"], 1000))
            for _ in range(200):  # until the slow cancel has taken the fault
                if not (await toss.get("/sandbox/faults")).json()["items"]:
                    break
                await asyncio.sleep(0.01)

            meanwhile = await cancel(toss, payment["paymentKey"], 2000)

            assert meanwhile.status_code == 200, meanwhile.text
            assert (await slow).json()["code"] == "FORBIDDEN_CONSECUTIVE_REQUEST"
            now = (await toss.get(f"/v1/payments/{payment['paymentKey']}")).json()
            assert [c["cancelAmount"] for c in now["cancels"]] == [2000]


async def test_cancels_of_two_payments_in_the_same_second_are_both_processed(
    paced_toss: httpx.AsyncClient,
) -> None:
    one = await paid_card_payment(paced_toss)
    other = await paid_card_payment(paced_toss)

    assert (await cancel(paced_toss, one["paymentKey"])).status_code == 200
    assert (await cancel(paced_toss, other["paymentKey"])).status_code == 200


async def test_the_refusal_reads_in_english_when_asked(paced_toss: httpx.AsyncClient) -> None:
    payment = await paid_card_payment(paced_toss)
    await cancel(paced_toss, payment["paymentKey"], 1000)

    english = await paced_toss.post(
        f"/v1/payments/{payment['paymentKey']}/cancel",
        json={"cancelReason": "changed my mind", "cancelAmount": 1000},
        headers={"Accept-Language": "en-US"},
    )

    assert english.json()["message"] == (
        "Repetitive requests are not allowed. Please try again in a few minutes."
    )


async def test_with_the_rule_off_back_to_back_cancels_both_go_through(
    toss: httpx.AsyncClient,
) -> None:
    payment = await paid_card_payment(toss, 10000)

    assert (await cancel(toss, payment["paymentKey"], 3000)).status_code == 200
    assert (await cancel(toss, payment["paymentKey"], 2000)).status_code == 200
