"""The `toss_sandbox` fixture that the package's pytest plugin gives any project."""

import httpx

from sunap_toss_sandbox.testing import TossSandbox


def confirm(sandbox: TossSandbox, payment_key: str, order_id: str, amount: int) -> httpx.Response:
    with httpx.Client(base_url=sandbox.url, auth=(sandbox.secret_key, ""), timeout=10) as toss:
        return toss.post(
            "/v1/payments/confirm",
            json={"paymentKey": payment_key, "orderId": order_id, "amount": amount},
        )


def test_a_payment_opened_through_the_fixture_confirms_as_done(toss_sandbox: TossSandbox) -> None:
    payment_key = toss_sandbox.open_payment(order_id="fixture-order-1", amount=15000)
    answer = confirm(toss_sandbox, payment_key, "fixture-order-1", 15000)
    assert answer.status_code == 200
    assert answer.json()["status"] == "DONE"
    assert [call["path"] for call in toss_sandbox.calls()] == ["/v1/payments/confirm"]


def test_reset_forgets_the_payments_of_the_test_before(toss_sandbox: TossSandbox) -> None:
    payment_key = toss_sandbox.open_payment(order_id="fixture-order-2", amount=15000)
    toss_sandbox.reset()
    answer = confirm(toss_sandbox, payment_key, "fixture-order-2", 15000)
    assert answer.status_code == 404
    assert toss_sandbox.calls()[-1]["path"] == "/v1/payments/confirm"
