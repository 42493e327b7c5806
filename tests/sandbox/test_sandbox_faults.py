"""Injected faults: error answers, late answers, dropped connections, lost answers."""

import asyncio
from typing import Any

import httpx
import pytest

from tests.sandbox.flows import confirm, open_window, paid_card_payment


async def inject(toss: httpx.AsyncClient, **fault: Any) -> None:
    response = await toss.post("/sandbox/faults", json=fault)
    assert response.status_code == 200, response.text


async def test_a_fault_answers_its_code_with_the_code_status(toss: httpx.AsyncClient) -> None:
    window = await open_window(toss)
    await inject(toss, path="/v1/payments/confirm", code="FAILED_INTERNAL_SYSTEM_PROCESSING")

    failed = await confirm(toss, window)
    retried = await confirm(toss, window)

    assert failed.status_code == 500
    assert failed.json()["code"] == "FAILED_INTERNAL_SYSTEM_PROCESSING"
    assert retried.json()["status"] == "DONE"  # times defaults to 1


async def test_a_fault_with_a_status_alone_gets_a_fitting_code(toss: httpx.AsyncClient) -> None:
    await inject(toss, method="GET", path="/v1/payments/*", status=503, times=2)

    answers = [await toss.get("/v1/payments/orders/order-none-1") for _ in range(3)]

    assert [answer.status_code for answer in answers] == [503, 503, 404]
    assert answers[0].json()["code"] == "FAILED_INTERNAL_SYSTEM_PROCESSING"


async def test_a_fault_on_another_path_leaves_this_call_alone(toss: httpx.AsyncClient) -> None:
    await inject(toss, path="/v1/billing", status=500)

    confirmed = await confirm(toss, await open_window(toss))

    assert confirmed.status_code == 200


async def test_a_dropped_connection_is_a_transport_error_and_nothing_happens(
    toss: httpx.AsyncClient,
) -> None:
    window = await open_window(toss)
    await inject(toss, path="/v1/payments/confirm", dropConnection=True)

    with pytest.raises(httpx.TransportError):
        await confirm(toss, window)

    unchanged = (await toss.get(f"/v1/payments/{window['paymentKey']}")).json()
    assert unchanged["status"] == "IN_PROGRESS"
    [call] = [
        c for c in (await toss.get("/sandbox/calls")).json()["items"] if c["method"] == "POST"
    ]
    assert call["status"] is None


async def test_an_answer_lost_after_apply_leaves_the_payment_done(toss: httpx.AsyncClient) -> None:
    window = await open_window(toss)
    await inject(toss, path="/v1/payments/confirm", dropConnection=True, afterApply=True)

    with pytest.raises(httpx.TransportError):
        await confirm(toss, window, **{"Idempotency-Key": "lost-answer-0001"})

    looked_up = (await toss.get(f"/v1/payments/orders/{window['orderId']}")).json()
    assert looked_up["status"] == "DONE"
    replay = await confirm(toss, window, **{"Idempotency-Key": "lost-answer-0001"})
    assert replay.status_code == 200
    assert replay.json()["lastTransactionKey"] == looked_up["lastTransactionKey"]


async def test_an_error_after_apply_still_cancels(toss: httpx.AsyncClient) -> None:
    payment = await paid_card_payment(toss, 10000)
    await inject(
        toss, path=f"/v1/payments/{payment['paymentKey']}/cancel", status=500, afterApply=True
    )

    failed = await toss.post(
        f"/v1/payments/{payment['paymentKey']}/cancel", json={"cancelReason": "반품"}
    )

    assert failed.status_code == 500
    now = (await toss.get(f"/v1/payments/{payment['paymentKey']}")).json()
    assert now["status"] == "CANCELED"


async def test_a_late_answer_does_not_hold_up_other_payments(toss: httpx.AsyncClient) -> None:
    slow_window, other = await open_window(toss), await paid_card_payment(toss)
    await inject(toss, path="/v1/payments/confirm", delayMs=2500)

    slow = asyncio.create_task(confirm(toss, slow_window))
    for _ in range(200):  # until the slow call has taken the fault
        if not (await toss.get("/sandbox/faults")).json()["items"]:
            break
        await asyncio.sleep(0.01)
    looked_up = await toss.get(f"/v1/payments/{other['paymentKey']}")

    assert looked_up.status_code == 200
    assert not slow.done()
    assert (await slow).json()["status"] == "DONE"
    # The call log is in the order the calls came: the slow confirm before the look-up.
    paths = [c["path"] for c in (await toss.get("/sandbox/calls")).json()["items"]]
    assert paths[-2:] == ["/v1/payments/confirm", f"/v1/payments/{other['paymentKey']}"]


async def test_clearing_faults_forgets_them(toss: httpx.AsyncClient) -> None:
    await inject(toss, status=500, times=10)

    await toss.delete("/sandbox/faults")

    assert (await toss.get("/sandbox/faults")).json()["items"] == []
    assert (await confirm(toss, await open_window(toss))).status_code == 200


async def test_a_fault_with_an_unknown_code_is_refused(toss: httpx.AsyncClient) -> None:
    response = await toss.post("/sandbox/faults", json={"code": "NO_SUCH_CODE"})

    assert response.status_code == 400


@pytest.mark.parametrize(
    "spec",
    [{"bogus": 1}, {"path": "/v1/payments/confirm", "delayMs": -5}, {"status": 200}],
    ids=["misspelt-field", "negative-delay", "success-status"],
)
async def test_a_fault_that_could_not_mean_what_it_says_is_refused(
    toss: httpx.AsyncClient, spec: dict[str, object]
) -> None:
    """A misspelt field made a fault that matched (and used up) the next call of any kind."""
    response = await toss.post("/sandbox/faults", json=spec)
    assert response.status_code == 400
    assert (await toss.get("/sandbox/faults")).json()["items"] == []
