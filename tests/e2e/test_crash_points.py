"""kill -9 of `sunap serve` at each point of a confirm and of a cancel, then a restart: the
payment converges to what Toss says, with one outbox event per change and no money moved twice
(docs/reliability.md, Crash points)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.integration.reliability.stack import (
    CANCEL_GLOB,
    CONFIRM_PATH,
    Stack,
    wait_for,
)

pytestmark = pytest.mark.slow

# How each crash point is staged at the sandbox; the service is killed while the call waits.
CRASH_POINTS = {
    # Claim committed, and we die before Toss does anything: the call never lands.
    "after-the-claim": {"delayMs": 4000, "dropConnection": True},
    # Toss is working on it when we die; it applies the call to a caller that is gone.
    "during-the-toss-call": {"delayMs": 2500},
    # Toss applied it at once; its answer is on the way when we die, before our commit.
    "after-toss-answered-before-our-commit": {"delayMs": 4000, "afterApply": True},
}


def in_background(call: Callable[[], httpx.Response]) -> threading.Thread:
    """Send a request that will never get its answer: the service dies under it."""

    def run() -> None:
        # The connection dies with the service: what a shop would see.
        with contextlib.suppress(httpx.TransportError):
            call()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def kill_when(stack: Stack, ready: Callable[[], bool], thread: threading.Thread) -> None:
    assert wait_for(lambda: ready() or None, timeout=20), stack.service.logs()[-3000:]
    time.sleep(0.3)  # the PG call is now waiting at the sandbox
    stack.service.kill()
    thread.join(timeout=10)
    stack.service.start()


def assert_converged(stack: Stack, payment_id: str, payment_key: str, *types: str) -> None:
    settled = stack.settled(payment_id, timeout=60)
    toss = stack.toss_payment(payment_key)
    assert settled["status"] == toss["status"], (settled, toss)
    assert settled["balanceAmount"] == toss["balanceAmount"]
    assert settled["pendingCancelAmount"] == 0 and not settled["needsReview"]
    assert sorted(c["transactionKey"] for c in settled["cancels"]) == sorted(
        c["transactionKey"] for c in toss.get("cancels") or []
    )
    events = stack.outbox_events(payment_id)
    assert [kind for kind, _ in events] == ["payment.created", *types]
    assert [seq for _, seq in events] == list(range(1, len(events) + 1))


@pytest.mark.parametrize("point", list(CRASH_POINTS))
def test_a_confirm_killed_at_any_point_converges_to_toss(stack: Stack, point: str) -> None:
    payment = stack.new_payment(15000)
    payment_key = stack.pay_in_window(payment)
    stack.fault(path=CONFIRM_PATH, **CRASH_POINTS[point])
    started = time.monotonic()

    thread = in_background(lambda: stack.confirm(payment, payment_key))
    kill_when(stack, lambda: stack.payment(payment["id"])["status"] == "IN_PROGRESS", thread)

    assert_converged(stack, payment["id"], payment_key, "payment.completed")
    print(f"confirm killed {point}: DONE {time.monotonic() - started:.2f}s after it was sent")
    # The sandbox records a call once it has answered it, even to a caller that is gone.
    calls = wait_for(lambda: stack.toss_calls(CONFIRM_PATH, payment["id"]), timeout=10) or []
    assert len({c["idempotencyKey"] for c in calls}) == 1  # one key, before and after the crash
    # Every request Toss received is in the trail: the claim row names the key it was sent
    # under, though the process that sent it died before recording its answer.
    trail = stack.api.get(f"/v1/payments/{payment['id']}/transactions").json()["items"]
    claims = {
        (t["requestData"] or {}).get("claim") for t in trail if t["type"] == "confirm.claimed"
    }
    assert {c["idempotencyKey"] for c in calls} <= claims, trail


@pytest.mark.parametrize("point", list(CRASH_POINTS))
def test_a_partial_cancel_killed_at_any_point_refunds_once(stack: Stack, point: str) -> None:
    payment = stack.new_payment(10000)
    payment_key = stack.pay_in_window(payment)
    assert stack.confirm(payment, payment_key).status_code == 200
    stack.fault(path=CANCEL_GLOB, **CRASH_POINTS[point])

    thread = in_background(lambda: stack.cancel(payment["id"], 3000))
    kill_when(stack, lambda: stack.payment(payment["id"])["pendingCancelAmount"] == 3000, thread)

    assert_converged(
        stack, payment["id"], payment_key, "payment.completed", "payment.partially_canceled"
    )
    toss = stack.toss_payment(payment_key)
    assert [c["cancelAmount"] for c in toss["cancels"]] == [3000]
    assert toss["balanceAmount"] == 7000
    # Every cancel request Toss received is in the trail, under the key it was sent with: the
    # cancel.requested row names it, and the reconciler's note says the killed process's call
    # has no recorded answer, before its own replay of that key.
    calls = wait_for(lambda: stack.toss_calls(f"/v1/payments/{payment_key}/cancel"), 10) or []
    sent = {c["idempotencyKey"] for c in calls}
    assert len(sent) == 1, calls  # one key, before and after the crash
    trail = stack.api.get(f"/v1/payments/{payment['id']}/transactions").json()["items"]
    requested = [
        (t["responseData"] or {}).get("pgIdempotencyKey")
        for t in trail
        if t["type"] == "cancel.requested"
    ]
    assert sent <= set(requested), trail
    types = [t["type"] for t in trail]
    notes = [t for t in trail if t["type"] == "cancel.answer_unrecorded"]
    assert [(n["status"], n["requestData"]["pgIdempotencyKey"]) for n in notes] == [
        ("unknown", *sent)
    ], trail
    note = types.index("cancel.answer_unrecorded")
    assert types.index("cancel.requested") < note < types.index("reconcile.settled"), types
    replays = [n for n, t in enumerate(trail) if t["type"] == "pg.cancel" and t["requestData"]]
    assert replays and all(note < n for n in replays), types
    assert {trail[n]["requestData"].get("idempotencyKey") for n in replays} == sent, trail


def test_a_shop_repeating_the_confirm_after_the_crash_gets_the_one_approval(
    stack: Stack,
) -> None:
    payment = stack.new_payment(6000)
    payment_key = stack.pay_in_window(payment)
    stack.fault(path=CONFIRM_PATH, **CRASH_POINTS["after-toss-answered-before-our-commit"])
    thread = in_background(lambda: stack.confirm(payment, payment_key))
    kill_when(stack, lambda: stack.payment(payment["id"])["status"] == "IN_PROGRESS", thread)

    again = stack.confirm(payment, payment_key)

    assert again.status_code in (200, 409), again.text
    if again.status_code == 200:
        assert again.json()["status"] == "DONE"
    else:
        assert again.json()["code"] == "CONFIRM_IN_PROGRESS"
    assert_converged(stack, payment["id"], payment_key, "payment.completed")


def test_a_shop_repeating_the_confirm_with_its_idempotency_key_after_the_crash_runs_nothing_twice(
    stack: Stack,
) -> None:
    """The killed process held the key: the repeat is 409 IDEMPOTENCY_KEY_IN_USE (the lock is
    taken over once stale, tested against each database in tests/integration/sql), and the
    payment still converges to the one approval."""
    payment = stack.new_payment(7000)
    payment_key = stack.pay_in_window(payment)
    body = {"paymentKey": payment_key, "orderId": payment["orderId"], "amount": 7000}
    key = {"Idempotency-Key": f"confirm-{payment['orderId']}"}
    stack.fault(path=CONFIRM_PATH, **CRASH_POINTS["after-toss-answered-before-our-commit"])
    thread = in_background(lambda: stack.api.post(CONFIRM_PATH, json=body, headers=key))
    kill_when(stack, lambda: stack.payment(payment["id"])["status"] == "IN_PROGRESS", thread)

    again = stack.api.post(CONFIRM_PATH, json=body, headers=key)

    assert again.status_code == 409 and again.json()["code"] == "IDEMPOTENCY_KEY_IN_USE"
    assert int(again.headers["Retry-After"]) >= 1
    assert_converged(stack, payment["id"], payment_key, "payment.completed")


def test_a_payment_at_rest_is_untouched_by_a_restart(stack: Stack) -> None:
    payment: dict[str, Any] = stack.new_payment(2000)
    payment_key = stack.pay_in_window(payment)
    assert stack.confirm(payment, payment_key).status_code == 200
    stack.restart_after_kill()
    assert_converged(stack, payment["id"], payment_key, "payment.completed")
