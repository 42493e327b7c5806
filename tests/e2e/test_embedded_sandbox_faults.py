"""Faults injected into the embedded sandbox (`/toss-sandbox/sandbox/faults`) against a real
`sunap serve`, as a merchant's test suite plays them case after case: one fault is one unknown
answer to the caller (docs/api.md, Confirm rule 6), and clearing the faults or resetting the
sandbox puts Toss "back" for the next case at once, its breaker closed."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.e2e.flows import confirm, create_payment, pay_in_window, toss_calls

CONFIRM = "/v1/payments/confirm"


def test_one_fault_is_one_unknown_answer_the_payment_in_progress(
    api: httpx.Client, sandbox: httpx.Client
) -> None:
    payment = create_payment(api)
    key = pay_in_window(sandbox, payment)
    sandbox.post("/sandbox/faults", json={"path": CONFIRM, "status": 500})  # times: 1

    answer = confirm(api, payment, key)

    assert answer.status_code == 502, answer.text
    assert answer.json()["code"] == "PG_UNAVAILABLE"
    assert api.get(f"/v1/payments/{payment['id']}").json()["status"] == "IN_PROGRESS"
    again = confirm(api, payment, key)  # a repeated confirm settles it
    assert again.status_code == 200 and again.json()["status"] == "DONE", again.text


@pytest.mark.parametrize(
    "put_right",
    [
        lambda sandbox: sandbox.delete("/sandbox/faults"),
        lambda sandbox: sandbox.post("/sandbox/reset"),
    ],
    ids=["faults-cleared", "sandbox-reset"],
)
def test_toss_put_right_in_the_sandbox_closes_the_breaker_its_faults_opened(
    api: httpx.Client, sandbox: httpx.Client, put_right: Callable[[httpx.Client], object]
) -> None:
    sandbox.post("/sandbox/faults", json={"path": CONFIRM, "dropConnection": True, "times": 100})
    # One attempt per confirm: the breaker opens after 5 failures in a row. The reconciler's
    # replays of earlier tests' payments share the breaker (a success among them starts the
    # count again), so confirm until one is refused with nothing sent.
    for _ in range(20):
        payment = create_payment(api)
        key = pay_in_window(sandbox, payment)
        sent = len(toss_calls(sandbox, CONFIRM))
        answer = confirm(api, payment, key)
        assert answer.status_code == 502, answer.text
        if len(toss_calls(sandbox, CONFIRM)) == sent:
            break  # refused by the open breaker: nothing reached the sandbox
    else:
        pytest.fail("the breaker never opened")

    put_right(sandbox)

    fresh = create_payment(api)  # a reset forgets the window's payments: a new order
    answer = confirm(api, fresh, pay_in_window(sandbox, fresh))
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "DONE"
