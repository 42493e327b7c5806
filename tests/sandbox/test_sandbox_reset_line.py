"""A reset draws a line under the calls log: a call still in flight stays on the old side."""

import asyncio

import httpx


async def test_a_call_answered_after_a_reset_stays_out_of_the_new_calls_log(
    toss: httpx.AsyncClient,
) -> None:
    await toss.post("/sandbox/faults", json={"path": "/v1/payments/orders/", "delayMs": 500})
    late = asyncio.create_task(toss.get("/v1/payments/orders/order-before-reset"))
    for _ in range(250):  # the sandbox took the fault: the call is being answered
        if not (await toss.get("/sandbox/faults")).json()["items"]:
            break
        await asyncio.sleep(0.01)

    await toss.post("/sandbox/reset")
    assert (await late).status_code == 404
    await toss.get("/v1/payments/orders/order-after-reset")

    paths = [item["path"] for item in (await toss.get("/sandbox/calls")).json()["items"]]
    assert paths == ["/v1/payments/orders/order-after-reset"]
