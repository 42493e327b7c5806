"""The calls the sandbox does not serve yet (transactions, settlements, cash receipts) against a
scripted Toss we own (an httpx.MockTransport), and webhook bodies as Toss documents them
(https://docs.tosspayments.com/reference, .../using-api/webhook-events)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sunap_toss import (
    AsyncTossClient,
    BillingDeleted,
    CancelStatusChanged,
    DepositCallback,
    OtherEvent,
    PaymentStatusChanged,
    RetryPolicy,
    TossClient,
    TossMisconfigured,
    TossUnknown,
    WireError,
    parse_webhook,
)

KEY = "test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R"


class ScriptedToss:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.answers: list[httpx.Response] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answers.pop(0)

    def answer(
        self, status: int, body: Any, trace_id: str = "0123456789abcdef0123456789abcdef"
    ) -> None:
        self.answers.append(
            httpx.Response(status, json=body, headers={"X-TossPayments-Trace-Id": trace_id})
        )


@pytest.fixture
def toss() -> ScriptedToss:
    return ScriptedToss()


@pytest.fixture
def client(toss: ScriptedToss) -> Iterator[TossClient]:
    fast = RetryPolicy(base_delay=0, max_delay=0, blocking_sleep=lambda _: None)
    with TossClient(
        secret_key=KEY,
        base_url="https://api.tosspayments.test",
        transport=httpx.MockTransport(toss),
        retry_policy=fast,
    ) as c:
        yield c


def test_transactions_are_listed_with_the_query_toss_documents(
    client: TossClient, toss: ScriptedToss
) -> None:
    toss.answer(
        200,
        [
            {
                "mId": "tosspayments",
                "transactionKey": "txrd_a01",
                "paymentKey": "pay_1",
                "orderId": "order-1",
                "method": "카드",
                "status": "DONE",
                "transactionAt": "2022-01-01T00:00:00+09:00",
                "currency": "KRW",
                "amount": 15000,
            }
        ],
    )
    rows = client.list_transactions(
        start_date="2022-01-01T00:00:00", end_date="2022-01-02T00:00:00", limit=10
    )
    assert [(r.transaction_key, r.amount, r.status) for r in rows] == [("txrd_a01", 15000, "DONE")]
    sent = toss.requests[0]
    assert (sent.method, sent.url.path) == ("GET", "/v1/transactions")
    assert dict(sent.url.params) == {
        "startDate": "2022-01-01T00:00:00",
        "endDate": "2022-01-02T00:00:00",
        "limit": "10",
    }


def test_settlements_in_test_mode_are_an_empty_list(client: TossClient, toss: ScriptedToss) -> None:
    toss.answer(200, [])
    assert client.list_settlements(start_date="2024-01-01", end_date="2024-01-31") == []
    assert toss.requests[0].url.path == "/v1/settlements"


def test_a_cash_receipt_is_issued_cancelled_and_listed(
    client: TossClient, toss: ScriptedToss
) -> None:
    receipt = {
        "receiptKey": "rcpt_1",
        "orderId": "order-1",
        "amount": 10000,
        "issueStatus": "IN_PROGRESS",
        "transactionType": "CONFIRM",
        "receiptUrl": "https://dashboard.tosspayments.com/receipt/1",
    }
    toss.answer(200, receipt)
    toss.answer(200, receipt | {"receiptKey": "c_rcpt_1", "transactionType": "CANCEL"})
    toss.answer(200, {"hasNext": False, "lastCursor": 17, "data": [receipt]})

    issued = client.issue_cash_receipt(
        amount=10000,
        order_id="order-1",
        order_name="책",
        customer_identity_number="01012345678",
        type="소득공제",
    )
    canceled = client.cancel_cash_receipt(receipt_key=issued.receipt_key)
    page = client.list_cash_receipts(request_date="2024-01-01")

    assert (issued.issue_status, issued.trace_id) == (
        "IN_PROGRESS",
        "0123456789abcdef0123456789abcdef",
    )
    assert (canceled.receipt_key, canceled.transaction_type) == ("c_rcpt_1", "CANCEL")
    assert ([r.receipt_key for r in page.receipts], page.has_next, page.last_cursor) == (
        ["rcpt_1"],
        False,
        "17",
    )
    first, second, _ = toss.requests
    assert json.loads(first.content)["type"] == "소득공제"
    assert first.headers["Idempotency-Key"]  # every POST carries one, even when not given
    assert second.url.path == "/v1/cash-receipts/rcpt_1/cancel"


def test_an_answer_with_a_fractional_amount_is_unknown_never_a_float(
    client: TossClient, toss: ScriptedToss
) -> None:
    toss.answer(
        200,
        [
            {
                "transactionKey": "t",
                "paymentKey": "p",
                "orderId": "o",
                "status": "DONE",
                "amount": 0.5,
            }
        ],
    )
    with pytest.raises(TossUnknown) as caught:
        client.list_transactions(start_date="a", end_date="b")
    assert caught.value.code == "MALFORMED_RESPONSE"
    assert caught.value.trace_id == "0123456789abcdef0123456789abcdef"


def test_an_error_keeps_tosss_trace_id_and_code(client: TossClient, toss: ScriptedToss) -> None:
    toss.answer(
        401, {"code": "UNAUTHORIZED_KEY", "message": "인증되지 않은 시크릿 키"}, "feedface" * 4
    )
    with pytest.raises(TossMisconfigured) as caught:
        client.get_payment("pay_1")
    assert (caught.value.code, caught.value.status_code, caught.value.trace_id) == (
        "UNAUTHORIZED_KEY",
        401,
        "feedface" * 4,
    )


def test_the_sync_and_async_clients_offer_the_same_calls() -> None:
    def calls(cls: type) -> set[str]:
        return {name for name in vars(cls) if not name.startswith("_")} - {
            "aclose",
            "close",
        }

    assert calls(TossClient) == calls(AsyncTossClient)
    assert calls(TossClient) >= {
        "confirm",
        "get_payment",
        "get_payment_by_order_id",
        "cancel",
        "key_in",
        "issue_virtual_account",
        "issue_billing_key",
        "charge_billing_key",
        "delete_billing_key",
        "list_transactions",
        "list_settlements",
        "request_settlement",
        "issue_cash_receipt",
        "cancel_cash_receipt",
        "list_cash_receipts",
    }


PAYMENT = {
    "paymentKey": "pay_1",
    "orderId": "order-1",
    "status": "CANCELED",
    "totalAmount": 10000,
    "balanceAmount": 0,
    "method": "카드",
}


def test_webhook_bodies_become_typed_events() -> None:
    created = "2022-01-01T00:00:00.000000"
    changed = parse_webhook(
        json.dumps({"eventType": "PAYMENT_STATUS_CHANGED", "createdAt": created, "data": PAYMENT})
    )
    deposit = parse_webhook(
        {
            "createdAt": created,
            "secret": "ps_secret",
            "status": "DONE",
            "transactionKey": "t1",
            "orderId": "order-2",
        }
    )
    deleted = parse_webhook(
        {
            "eventType": "BILLING_DELETED",
            "createdAt": created,
            "data": {"billingKey": "bk_1", "reason": "삭제 API 요청"},
        }
    )
    other = parse_webhook(
        {"eventType": "METHOD_UPDATED", "createdAt": created, "data": {"status": "ENABLED"}}
    )

    assert isinstance(changed, PaymentStatusChanged) and changed.payment.status == "CANCELED"
    assert isinstance(deposit, DepositCallback) and (deposit.status, deposit.order_id) == (
        "DONE",
        "order-2",
    )
    assert "ps_secret" not in repr(deposit)
    assert isinstance(deleted, BillingDeleted) and deleted.reason == "삭제 API 요청"
    assert "bk_1" not in repr(deleted)
    assert isinstance(other, OtherEvent) and other.event_type == "METHOD_UPDATED"


def test_a_cancel_status_change_settles_a_foreign_easy_pay_cancel() -> None:
    event = parse_webhook(
        {
            "eventType": "CANCEL_STATUS_CHANGED",
            "createdAt": "2022-01-01T00:00:00.000000",
            "data": {
                "paymentKey": "pay_paypal",
                "transactionKey": "txrd_c1",
                "cancelAmount": 50,
                "cancelReason": "refund",
                "cancelStatus": "DONE",
                "refundableAmount": 0,
            },
        }
    )
    assert isinstance(event, CancelStatusChanged)
    assert (event.payment_key, event.cancel.cancel_status, event.cancel.cancel_amount) == (
        "pay_paypal",
        "DONE",
        50,
    )


@pytest.mark.parametrize(
    "body",
    [b"not json", "[]", {"createdAt": "x"}, {"eventType": "CANCEL_STATUS_CHANGED", "data": None}],
)
def test_a_body_that_is_no_webhook_is_refused(body: Any) -> None:
    with pytest.raises(WireError):
        parse_webhook(body)
