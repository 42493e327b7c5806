"""Idempotency-Key with Toss's semantics: first answer replayed, 409 while in flight."""

import asyncio

import httpx

from tests.sandbox.flows import cancel, confirm, open_window, paid_card_payment


async def test_a_repeated_cancel_with_one_key_replays_the_first_answer(
    toss: httpx.AsyncClient,
) -> None:
    payment = await paid_card_payment(toss, 10000)
    key = {"Idempotency-Key": "cancel-key-0001"}

    first = await toss.post(
        f"/v1/payments/{payment['paymentKey']}/cancel",
        json={"cancelReason": "반품", "cancelAmount": 3000},
        headers=key,
    )
    second = await toss.post(
        f"/v1/payments/{payment['paymentKey']}/cancel",
        json={"cancelReason": "반품", "cancelAmount": 3000},
        headers=key,
    )

    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    now = (await toss.get(f"/v1/payments/{payment['paymentKey']}")).json()
    assert now["balanceAmount"] == 7000
    assert len(now["cancels"]) == 1


async def test_a_reused_key_returns_the_first_answer_even_for_another_body(
    toss: httpx.AsyncClient,
) -> None:
    first_window, second_window = await open_window(toss), await open_window(toss)
    key = "confirm-key-reused"

    first = await confirm(toss, first_window, **{"Idempotency-Key": key})
    second = await confirm(toss, second_window, **{"Idempotency-Key": key})

    assert second.json()["paymentKey"] == first_window["paymentKey"] == first.json()["paymentKey"]
    untouched = (await toss.get(f"/v1/payments/{second_window['paymentKey']}")).json()
    assert untouched["status"] == "IN_PROGRESS"


async def test_an_error_answer_is_replayed_too(toss: httpx.AsyncClient) -> None:
    window = await open_window(toss, 10000)
    key = {"Idempotency-Key": "error-key-0001"}

    wrong = await confirm(toss, {**window, "amount": 1}, **key)
    replayed = await confirm(toss, window, **key)

    assert wrong.status_code == replayed.status_code == 400
    assert replayed.json()["code"] == wrong.json()["code"]


async def test_one_key_on_another_path_is_another_request(toss: httpx.AsyncClient) -> None:
    payment = await paid_card_payment(toss, 10000)
    key = {"Idempotency-Key": "shared-key-0001"}

    await cancel(toss, payment["paymentKey"], 1000)  # no key: not part of the scope
    confirmed = await confirm(toss, await open_window(toss), **key)
    canceled = await toss.post(
        f"/v1/payments/{payment['paymentKey']}/cancel",
        json={"cancelReason": "반품", "cancelAmount": 1000},
        headers=key,
    )

    assert confirmed.json()["status"] == "DONE"
    assert canceled.json()["status"] == "PARTIAL_CANCELED"
    assert canceled.json()["balanceAmount"] == 8000


async def test_a_repeat_while_the_first_is_in_flight_is_409(toss: httpx.AsyncClient) -> None:
    window = await open_window(toss)
    await toss.post("/sandbox/faults", json={"path": "/v1/payments/confirm", "delayMs": 1500})
    key = {"Idempotency-Key": "slow-confirm-0001"}

    slow = asyncio.create_task(confirm(toss, window, **key))
    for _ in range(200):  # until the slow call has reached the sandbox
        pending_faults = (await toss.get("/sandbox/faults")).json()["items"]
        if not pending_faults:
            break
        await asyncio.sleep(0.01)
    meanwhile = await confirm(toss, window, **key)
    first = await slow
    after = await confirm(toss, window, **key)

    assert meanwhile.status_code == 409
    assert meanwhile.json()["code"] == "IDEMPOTENT_REQUEST_PROCESSING"
    assert first.status_code == after.status_code == 200
    assert after.json() == first.json()


async def test_a_key_over_300_characters_is_invalid(toss: httpx.AsyncClient) -> None:
    window = await open_window(toss)

    response = await confirm(toss, window, **{"Idempotency-Key": "k" * 301})

    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_IDEMPOTENCY_KEY"
    assert response.json()["message"] == "멱등키는 300자 이하여야 합니다."
    assert (await confirm(toss, window, **{"Idempotency-Key": "k" * 300})).status_code == 200


async def test_an_empty_key_is_invalid_and_the_message_says_it_is_empty(
    toss: httpx.AsyncClient,
) -> None:
    """Toss's code for a bad key, with a message that says what is wrong: its own is about the
    300-character limit (what Toss answers for an empty key is not documented)."""
    window = await open_window(toss)

    korean = await confirm(toss, window, **{"Idempotency-Key": ""})
    english = await confirm(toss, window, **{"Idempotency-Key": "", "Accept-Language": "en-US"})

    assert korean.status_code == english.status_code == 400
    assert korean.json() == {
        "code": "INVALID_IDEMPOTENCY_KEY",
        "message": "멱등키가 비어 있습니다.",
    }
    assert english.json()["message"] == "The idempotency key is empty."
    assert (await confirm(toss, window)).json()["status"] == "DONE"  # nothing was done


async def test_a_key_is_forgotten_after_fifteen_days(toss: httpx.AsyncClient) -> None:
    payment = await paid_card_payment(toss, 10000)
    key = {"Idempotency-Key": "old-key-0001"}
    body = {"cancelReason": "반품", "cancelAmount": 1000}
    path = f"/v1/payments/{payment['paymentKey']}/cancel"
    await toss.post(path, json=body, headers=key)

    await toss.post("/sandbox/clock", json={"advanceSeconds": 15 * 24 * 3600 + 1})
    later = await toss.post(path, json=body, headers=key)

    assert later.json()["balanceAmount"] == 8000
