"""Toss misbehaving over real HTTP (the sandbox's /sandbox/faults) against a real `sunap serve`:
an unknown outcome is never a failure, retries keep one Idempotency-Key, and the reconciler
finds the truth by itself (docs/api.md, Confirm rules 5–7; docs/reliability.md, Unknown outcomes)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.reliability.stack import (
    CANCEL_GLOB,
    CONFIRM_PATH,
    Stack,
    running_stack,
    wait_for,
)

LOOKUP_GLOB = "/v1/payments/orders/*"

pytestmark = pytest.mark.slow


def assert_one_event_per_change(stack: Stack, payment_id: str, *types: str) -> None:
    events = stack.outbox_events(payment_id)
    assert [kind for kind, _ in events] == ["payment.created", *types]
    assert [seq for _, seq in events] == list(range(1, len(events) + 1))


def assert_agrees_with_toss(ours: dict[str, Any], toss: dict[str, Any]) -> None:
    assert ours["status"] == toss["status"]
    assert ours["balanceAmount"] == toss["balanceAmount"]
    assert ours["pendingCancelAmount"] == 0
    toss_keys = sorted(c["transactionKey"] for c in toss.get("cancels") or [])
    our_keys = sorted(c["transactionKey"] for c in ours["cancels"])  # only DONE ones are shown
    assert our_keys == toss_keys


@pytest.mark.parametrize(
    ("fault", "answer"),
    [
        ({"status": 500}, "PG_UNAVAILABLE"),
        ({"code": "PROVIDER_ERROR"}, "PG_UNAVAILABLE"),
        ({"code": "UNKNOWN_PAYMENT_ERROR"}, "PG_UNAVAILABLE"),
        ({"dropConnection": True}, "PG_UNAVAILABLE"),
    ],
    ids=["http-500", "provider-error", "unknown-payment-error", "dropped-connection"],
)
def test_an_unknown_confirm_outcome_stays_in_progress_and_the_reconciler_settles_it(
    stack: Stack, fault: dict[str, Any], answer: str
) -> None:
    payment = stack.new_payment(12000)
    payment_key = stack.pay_in_window(payment)
    # Once, as the sandbox's faults default to: the caller hears of it (docs/api.md, Confirm
    # rule 6), not a retry inside the request that hides it.
    stack.fault(path=CONFIRM_PATH, **fault)

    response = stack.confirm(payment, payment_key)

    assert response.status_code == 502, response.text
    assert response.json()["code"] == answer
    assert stack.payment(payment["id"])["status"] == "IN_PROGRESS"
    answered_at = time.monotonic()
    settled = stack.settled(payment["id"])
    print(f"reconciler settled a {fault} confirm in {time.monotonic() - answered_at:.2f}s")
    assert settled["status"] == "DONE" and not settled["needsReview"]
    assert_agrees_with_toss(settled, stack.toss_payment(payment_key))
    assert_one_event_per_change(stack, payment["id"], "payment.completed")
    keys = {c["idempotencyKey"] for c in stack.toss_calls(CONFIRM_PATH, payment["id"])}
    assert len(keys) == 1 and len(keys.pop()) <= 300  # every retry, ours or the reconciler's


@pytest.mark.parametrize("code", ["UNAUTHORIZED_KEY", "INVALID_API_KEY"])
def test_a_misconfigured_key_answer_never_aborts_the_payment_and_is_logged_as_an_error(
    stack: Stack, code: str
) -> None:
    """Toss refusing our credentials says nothing of the customer's card: the payment is not
    ABORTED on it (the shop gets 502, the operator an ERROR line), and once the key works the
    same confirm goes through."""
    payment = stack.new_payment(9000)
    payment_key = stack.pay_in_window(payment)
    stack.fault(path=CONFIRM_PATH, code=code)

    response = stack.confirm(payment, payment_key)

    assert response.status_code == 502 and response.json()["code"] == "PG_UNAVAILABLE"
    assert stack.payment(payment["id"])["status"] in ("IN_PROGRESS", "DONE")  # never ABORTED
    errors = [line for line in stack.service.logs().splitlines() if " ERROR " in line]
    assert any(code in line and "confirm" in line for line in errors), errors[-5:]
    assert stack.settled(payment["id"])["status"] == "DONE"


def test_a_refusal_is_final_and_never_reconciled(stack: Stack) -> None:
    payment = stack.new_payment(5000)
    body = {"orderId": payment["orderId"], "amount": 5000, "failWith": "REJECT_CARD_PAYMENT"}
    payment_key = stack.toss.post("/sandbox/payments", json=body).json()["paymentKey"]

    response = stack.confirm(payment, payment_key)

    assert response.status_code == 402, response.text
    assert response.json()["code"] == "PG_REJECTED"
    assert stack.payment(payment["id"])["status"] == "ABORTED"
    assert_one_event_per_change(stack, payment["id"], "payment.failed")
    lookups_before = len(stack.toss_calls(payment["orderId"]))
    time.sleep(1.5)  # longer than the first reconcile delay: nothing may be asked again
    assert len(stack.toss_calls(payment["orderId"])) == lookups_before


def test_a_first_request_still_processing_at_toss_is_retried_with_the_same_key(
    stack: Stack,
) -> None:
    payment = stack.new_payment(7000)
    payment_key = stack.pay_in_window(payment)
    stack.fault(path=CONFIRM_PATH, code="IDEMPOTENT_REQUEST_PROCESSING")

    response = stack.confirm(payment, payment_key)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "DONE"
    calls = stack.toss_calls(CONFIRM_PATH, payment["id"])
    assert [c["status"] for c in calls] == [409, 200]
    assert len({c["idempotencyKey"] for c in calls}) == 1
    # The trail has a row for each request Toss received, the one it answered 409 too.
    trail = stack.api.get(f"/v1/payments/{payment['id']}/transactions").json()["items"]
    sent = [t["responseData"]["status"] for t in trail if t["type"] == "pg.confirm"]
    assert sent == [409, 200]


def test_an_answer_lost_after_toss_applied_is_adopted_not_repeated(stack: Stack) -> None:
    payment = stack.new_payment(9000)
    payment_key = stack.pay_in_window(payment)
    stack.fault(path=CONFIRM_PATH, afterApply=True, dropConnection=True)

    response = stack.confirm(payment, payment_key)

    # Unknown to us, so never a failure: IN_PROGRESS until Toss is asked again.
    assert response.status_code == 502, response.text
    assert response.json()["code"] == "PG_UNAVAILABLE"
    assert stack.payment(payment["id"])["status"] == "IN_PROGRESS"
    # The caller's retry carries the same Toss key: Toss replays its first answer, no second
    # charge (the reconciler, had it come first, would have done the same).
    again = stack.confirm(payment, payment_key)
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "DONE"
    assert_agrees_with_toss(again.json(), stack.toss_payment(payment_key))
    assert_one_event_per_change(stack, payment["id"], "payment.completed")
    keys = {c["idempotencyKey"] for c in stack.toss_calls(CONFIRM_PATH, payment["id"])}
    assert len(keys) == 1


def test_a_lost_partial_cancel_keeps_its_reservation_until_the_reconciler_settles_it(
    stack: Stack,
) -> None:
    payment = stack.new_payment(10000)
    payment_key = stack.pay_in_window(payment)
    assert stack.confirm(payment, payment_key).status_code == 200
    stack.fault(path=CANCEL_GLOB, times=3, dropConnection=True)

    response = stack.cancel(payment["id"], 4000)

    assert response.status_code == 502, response.text
    pending = stack.payment(payment["id"])
    assert pending["pendingCancelAmount"] == 4000 and pending["balanceAmount"] == 10000
    over = stack.cancel(payment["id"], 7000)  # the reservation counts against the balance
    assert over.status_code == 422 and over.json()["code"] == "EXCEEDS_BALANCE"
    settled = stack.settled(payment["id"])
    assert settled["status"] == "PARTIAL_CANCELED" and settled["balanceAmount"] == 6000
    assert_agrees_with_toss(settled, stack.toss_payment(payment_key))
    assert_one_event_per_change(
        stack, payment["id"], "payment.completed", "payment.partially_canceled"
    )


def test_a_cancel_toss_applied_but_whose_answer_was_lost_moves_money_once(stack: Stack) -> None:
    payment = stack.new_payment(10000)
    payment_key = stack.pay_in_window(payment)
    assert stack.confirm(payment, payment_key).status_code == 200
    stack.fault(path=CANCEL_GLOB, afterApply=True, status=500)

    response = stack.cancel(payment["id"], 2500)

    assert response.status_code in (200, 502), response.text
    settled = stack.settled(payment["id"])
    assert settled["balanceAmount"] == 7500
    toss = stack.toss_payment(payment_key)
    assert len(toss["cancels"]) == 1
    assert_agrees_with_toss(settled, toss)


@pytest.mark.parametrize("amount", [3000, None], ids=["partial", "full"])
def test_a_cancel_sent_again_with_its_idempotency_key_refunds_once(
    stack: Stack, amount: int | None
) -> None:
    """The shop's retry of a cancel answered 502 (its key released so that it may ask again)
    is answered by that cancel: with the reconciler replaying it too, one refund, not two."""
    payment = stack.new_payment(10000)
    payment_key = stack.pay_in_window(payment)
    assert stack.confirm(payment, payment_key).status_code == 200
    key = f"refund-{payment['id']}"
    stack.fault(path=CANCEL_GLOB, status=500, times=50)  # every attempt of the first call
    assert stack.cancel(payment["id"], amount, key).status_code == 502
    stack.clear_faults()

    again = stack.cancel(payment["id"], amount, key)

    assert again.status_code == 200, again.text
    refunded = amount or 10000
    assert again.json()["balanceAmount"] == 10000 - refunded
    settled = stack.settled(payment["id"])
    toss = stack.toss_payment(payment_key)
    assert [c["cancelAmount"] for c in toss["cancels"]] == [refunded]
    assert_agrees_with_toss(settled, toss)
    replayed = stack.cancel(payment["id"], amount, key)
    assert replayed.status_code == 200 and replayed.headers["Idempotent-Replayed"] == "true"


def test_a_repeated_confirm_settles_an_earlier_attempt_whose_answer_was_lost(
    stack: Stack,
) -> None:
    payment = stack.new_payment(8000)
    payment_key = stack.pay_in_window(payment)
    stack.fault(path=CONFIRM_PATH, times=3, status=503)
    assert stack.confirm(payment, payment_key).status_code == 502

    again = stack.confirm(payment, payment_key)

    # The shop's retry either finds the answer (Toss replays the same key) or is told to wait.
    assert again.status_code in (200, 409), again.text
    settled = stack.settled(payment["id"])
    assert settled["status"] == "DONE"
    assert_one_event_per_change(stack, payment["id"], "payment.completed")


def test_toss_down_opens_the_breaker_and_in_doubt_payments_are_swept_once_it_is_back(
    tmp_path: Path,
) -> None:
    with running_stack(tmp_path) as stack:
        stack.fault(path=CONFIRM_PATH, times=1000, dropConnection=True)
        stack.fault(path=LOOKUP_GLOB, times=1000, dropConnection=True)
        in_doubt = []
        for _ in range(6):  # one attempt per confirm: past the breaker's 5 consecutive failures
            payment = stack.new_payment(3000)
            key = stack.pay_in_window(payment)
            assert stack.confirm(payment, key).status_code == 502
            if stack.payment(payment["id"])["status"] == "IN_PROGRESS":
                in_doubt.append((payment, key))
        assert len(in_doubt) >= 2
        calls_before = len(stack.toss_calls(CONFIRM_PATH))

        fresh = stack.new_payment(3000)
        fresh_key = stack.pay_in_window(fresh)
        refused = stack.confirm(fresh, fresh_key)

        assert refused.status_code == 502 and refused.json()["code"] == "PG_UNAVAILABLE"
        assert len(stack.toss_calls(CONFIRM_PATH)) == calls_before  # failed fast: nothing sent
        assert stack.payment(fresh["id"])["status"] == "READY"  # nothing claimed, nothing guessed
        for payment, _ in in_doubt:
            assert stack.payment(payment["id"])["status"] == "IN_PROGRESS"  # never failed
        stack.clear_faults()  # Toss is back; a half-open probe closes the breaker
        for payment, key in in_doubt:
            settled = stack.settled(payment["id"], timeout=60)
            assert settled["status"] == "DONE", settled
            assert_agrees_with_toss(settled, stack.toss_payment(key))
        retried = wait_for(
            lambda: (r := stack.confirm(fresh, fresh_key)).status_code == 200 and r, timeout=30
        )
        assert retried and retried.json()["status"] == "DONE"


def test_an_outcome_still_unknown_after_the_last_check_is_flagged_for_a_person(
    tmp_path: Path,
) -> None:
    with running_stack(tmp_path, SUNAP_RECONCILE_DELAYS="0.2,0.2,0.2") as stack:
        payment = stack.new_payment(4000)
        payment_key = stack.pay_in_window(payment)
        stack.fault(path=CONFIRM_PATH, times=1000, status=500)
        stack.fault(path=LOOKUP_GLOB, times=1000, status=500)
        assert stack.confirm(payment, payment_key).status_code == 502

        flagged = wait_for(lambda: stack.payment(payment["id"])["needsReview"] or None, timeout=60)

        assert flagged
        seen = stack.payment(payment["id"])
        assert seen["status"] == "IN_PROGRESS"  # never failed on a guess
        assert "unknown PG outcome" in seen["reviewReason"]
        assert f"payment {payment['id']} needs a person" in stack.service.logs()
        assert_one_event_per_change(stack, payment["id"])
