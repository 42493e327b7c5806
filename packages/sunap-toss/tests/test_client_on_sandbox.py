"""The client against a standalone sandbox: what a merchant's code relies on, over real HTTP."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from sunap_toss import (
    AsyncTossClient,
    RetryPolicy,
    TossAlreadyProcessed,
    TossClient,
    TossDeclined,
    TossMisconfigured,
    TossNotFound,
)

if TYPE_CHECKING:
    from conftest import StandaloneSandbox

SANDBOX_SECRET_KEY = "test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R"  # Toss's public doc key

FAST = RetryPolicy(base_delay=0.01, max_delay=0.05, consecutive_request_pause=0.01)


@pytest.fixture
def toss(sandbox: StandaloneSandbox) -> Iterator[TossClient]:
    client = TossClient(secret_key=SANDBOX_SECRET_KEY, base_url=sandbox.url, retry_policy=FAST)
    yield client
    client.close()


def test_the_smallest_surface_confirms_to_done_and_cancels(
    toss: TossClient, sandbox: StandaloneSandbox, order_id: str
) -> None:
    payment_key = sandbox.pay_in_window(order_id, 15000)

    payment = toss.confirm(payment_key=payment_key, order_id=order_id, amount=15000)
    assert payment.status == "DONE"
    assert (payment.payment_key, payment.order_id, payment.total_amount) == (
        payment_key,
        order_id,
        15000,
    )
    assert payment.trace_id  # X-TossPayments-Trace-Id, kept for Toss's support

    canceled = toss.cancel(payment_key=payment_key, cancel_reason="customer asked")
    assert canceled.status == "CANCELED"
    assert canceled.balance_amount == 0
    assert [c.cancel_amount for c in canceled.cancels] == [15000]


def test_a_partial_cancel_leaves_the_rest_and_look_ups_agree(
    toss: TossClient, sandbox: StandaloneSandbox, order_id: str
) -> None:
    payment_key = sandbox.pay_in_window(order_id, 10000)
    toss.confirm(payment_key=payment_key, order_id=order_id, amount=10000)

    partial = toss.cancel(payment_key=payment_key, cancel_reason="one item", cancel_amount=3000)

    assert (partial.status, partial.balance_amount) == ("PARTIAL_CANCELED", 7000)
    by_key = toss.get_payment(payment_key)
    by_order = toss.get_payment_by_order_id(order_id)
    assert by_key == by_order
    assert by_key.balance_amount == 7000
    assert by_key.cancels[0].transaction_key == partial.last_transaction_key


def test_cancelling_more_than_the_balance_is_declined_with_a_trace_id(
    toss: TossClient, sandbox: StandaloneSandbox, order_id: str
) -> None:
    payment_key = sandbox.pay_in_window(order_id, 1000)
    toss.confirm(payment_key=payment_key, order_id=order_id, amount=1000)

    with pytest.raises(TossDeclined) as caught:
        toss.cancel(payment_key=payment_key, cancel_reason="too much", cancel_amount=5000)

    assert caught.value.code == "NOT_CANCELABLE_AMOUNT"
    assert caught.value.status_code == 403
    assert caught.value.trace_id
    assert toss.get_payment(payment_key).balance_amount == 1000


def test_a_card_the_issuer_refuses_is_declined(
    toss: TossClient, sandbox: StandaloneSandbox, order_id: str
) -> None:
    payment_key = sandbox.pay_in_window(order_id, 5000, failWith="REJECT_CARD_PAYMENT")
    with pytest.raises(TossDeclined) as caught:
        toss.confirm(payment_key=payment_key, order_id=order_id, amount=5000)
    assert caught.value.code == "REJECT_CARD_PAYMENT"


def test_a_second_confirm_is_already_processed_and_an_unknown_order_not_found(
    toss: TossClient, sandbox: StandaloneSandbox, order_id: str
) -> None:
    payment_key = sandbox.pay_in_window(order_id, 5000)
    toss.confirm(payment_key=payment_key, order_id=order_id, amount=5000)
    with pytest.raises(TossAlreadyProcessed):
        toss.confirm(payment_key=payment_key, order_id=order_id, amount=5000)
    with pytest.raises(TossNotFound):
        toss.get_payment_by_order_id("order-nobody-ever-used")


def test_a_wrong_secret_key_is_misconfigured_and_sent_once(
    sandbox: StandaloneSandbox, order_id: str
) -> None:
    with (
        TossClient(secret_key="live_sk_not_for_a_sandbox", base_url=sandbox.url) as toss,
        pytest.raises(TossMisconfigured) as caught,
    ):
        toss.get_payment_by_order_id(order_id)
    assert caught.value.code == "UNAUTHORIZED_KEY"
    assert len(sandbox.calls(f"/v1/payments/orders/{order_id}")) == 1


def test_a_confirm_whose_key_is_another_orders_is_a_warning_a_refused_key_an_error(
    toss: TossClient, sandbox: StandaloneSandbox, order_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Any caller can send a paymentKey, orderId and amount that do not belong together: Toss's
    INVALID_REQUEST to a confirm is not the operator's to be woken for; a refused key is."""
    payment_key = sandbox.pay_in_window(order_id, 5000)
    caplog.set_level(logging.INFO, logger="sunap_toss")
    with pytest.raises(TossMisconfigured) as caught:
        toss.confirm(payment_key=payment_key, order_id=f"{order_id}-other", amount=5000)
    assert caught.value.code == "INVALID_REQUEST"
    with (
        TossClient(secret_key="live_sk_not_for_a_sandbox", base_url=sandbox.url) as refused,
        pytest.raises(TossMisconfigured),
    ):
        refused.confirm(payment_key=payment_key, order_id=order_id, amount=5000)
    levels = {r.getMessage().split(" code=")[1].split()[0]: r.levelno for r in caplog.records}
    assert levels == {"INVALID_REQUEST": logging.WARNING, "UNAUTHORIZED_KEY": logging.ERROR}


def test_a_provider_error_is_retried_with_the_same_idempotency_key(
    toss: TossClient, sandbox: StandaloneSandbox, order_id: str
) -> None:
    payment_key = sandbox.pay_in_window(order_id, 5000)
    sandbox.add_fault(path="/v1/payments/confirm", code="PROVIDER_ERROR")

    payment = toss.confirm(payment_key=payment_key, order_id=order_id, amount=5000)

    assert payment.status == "DONE"
    calls = sandbox.calls("/v1/payments/confirm")
    assert [c["status"] for c in calls] == [400, 200]
    assert calls[0]["idempotencyKey"] == calls[1]["idempotencyKey"] is not None
    # Each request Toss received is in the exchange kept for the trail: the refused one first.
    assert payment.exchange is not None
    assert [(a.status_code, a.outcome) for a in payment.exchange.earlier] == [(400, "unknown")]
    assert payment.exchange.status_code == 200 and payment.exchange.earlier[0].earlier == ()


def test_a_consecutive_cancel_refusal_is_retried_with_the_same_key(
    toss: TossClient, sandbox: StandaloneSandbox, order_id: str
) -> None:
    payment_key = sandbox.pay_in_window(order_id, 5000)
    toss.confirm(payment_key=payment_key, order_id=order_id, amount=5000)
    sandbox.add_fault(path="/v1/payments/*/cancel", code="FORBIDDEN_CONSECUTIVE_REQUEST")

    canceled = toss.cancel(payment_key=payment_key, cancel_reason="r", idempotency_key="c-1")

    assert canceled.status == "CANCELED"
    calls = sandbox.calls(f"/v1/payments/{payment_key}/cancel")
    assert [(c["status"], c["idempotencyKey"]) for c in calls] == [(403, "c-1"), (200, "c-1")]


def test_key_in_approves_at_once(toss: TossClient, order_id: str) -> None:
    payment = toss.key_in(
        amount=20000,
        order_id=order_id,
        order_name="생수 외 1건",
        card_number="4330123412341234",
        card_expiration_year="29",
        card_expiration_month="12",
        customer_identity_number="881212",
    )
    assert (payment.status, payment.total_amount, payment.method) == ("DONE", 20000, "카드")
    assert "4330123412341234" not in str(payment.card)


def test_a_virtual_account_waits_for_deposit_with_its_secret(
    toss: TossClient, order_id: str
) -> None:
    payment = toss.issue_virtual_account(
        amount=30000, order_id=order_id, order_name="책", customer_name="홍길동", bank="88"
    )
    assert payment.status == "WAITING_FOR_DEPOSIT"
    assert payment.secret
    assert payment.virtual_account is not None
    assert "secret" not in repr(payment)


def test_a_billing_key_is_issued_charged_and_deleted(
    toss: TossClient, sandbox: StandaloneSandbox, order_id: str
) -> None:
    customer_key = str(uuid.uuid4())
    billing = toss.issue_billing_key(
        auth_key=sandbox.register_card(customer_key), customer_key=customer_key
    )
    assert billing.billing_key not in repr(billing)

    charged = toss.charge_billing_key(
        billing_key=billing.billing_key,
        customer_key=customer_key,
        amount=9900,
        order_id=order_id,
        order_name="월 구독",
    )
    assert (charged.status, charged.total_amount) == ("DONE", 9900)

    toss.delete_billing_key(billing.billing_key)
    with pytest.raises(TossNotFound):
        toss.delete_billing_key(billing.billing_key)


async def test_the_async_client_confirms_and_cancels_the_same_way(
    sandbox: StandaloneSandbox, order_id: str
) -> None:
    payment_key = sandbox.pay_in_window(order_id, 8000)
    async with AsyncTossClient(
        secret_key=SANDBOX_SECRET_KEY, base_url=sandbox.url, retry_policy=FAST
    ) as toss:
        payment = await toss.confirm(payment_key=payment_key, order_id=order_id, amount=8000)
        partial = await toss.cancel(payment_key=payment_key, cancel_reason="r", cancel_amount=3000)
    assert payment.status == "DONE"
    assert (partial.status, partial.balance_amount) == ("PARTIAL_CANCELED", 5000)
