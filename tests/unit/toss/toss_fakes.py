"""A fake Toss we own (an httpx.MockTransport with a script), a controlled clock, Toss payloads."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

DOC_SECRET_KEY = "test_gsk_docs_OaPz8L5KdmQXkzRz3y47BMw6"
BASE_URL = "https://api.tosspayments.test"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Sleeps:
    """The retry policy's sleep: records each pause and moves the clock instead of waiting."""

    clock: FakeClock
    delays: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.clock.advance(seconds)


Handler = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]
Answer = httpx.Response | Exception | Handler


class FakeToss:
    """Answers requests from a script, in order, and keeps every request it saw."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self._script: deque[Answer] = deque()

    def answer(self, status: int = 200, body: Any = None, *, times: int = 1) -> None:
        for _ in range(times):
            self._script.append(httpx.Response(status, json=body))

    def answer_text(self, status: int, text: str) -> None:
        self._script.append(httpx.Response(status, text=text))

    def error(self, code: str, status: int = 400, *, times: int = 1) -> None:
        self.answer(status, {"code": code, "message": f"message for {code}"}, times=times)

    def respond(self, handler: Handler, *, times: int = 1) -> None:
        for _ in range(times):
            self._script.append(handler)

    def fail(self, exception: Exception, *, times: int = 1) -> None:
        for _ in range(times):
            self._script.append(exception)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self._script:
            raise AssertionError(f"unexpected call {request.method} {request.url}")
        answer = self._script.popleft()
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            response = answer(request)
            return response if isinstance(response, httpx.Response) else await response
        return answer

    def body(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)


def card_payment(**overrides: Any) -> dict[str, Any]:
    """A DONE card payment as Toss returns it (docs/toss.md, Payment statuses, and Toss's doc examples)."""
    payment: dict[str, Any] = {
        "mId": "tosspayments",
        "version": "2022-11-16",
        "lastTransactionKey": "B7103F204998813B889C77C043D09502",
        "paymentKey": "5EnNZRJGvaBX7zk2yd8ydw26XvwXkLrx9POLqKQjmAw4b0e1",
        "orderId": "order-123456",
        "orderName": "생수 외 1건",
        "taxExemptionAmount": 0,
        "status": "DONE",
        "requestedAt": "2022-08-05T12:56:00+09:00",
        "approvedAt": "2022-08-05T12:56:21+09:00",
        "useEscrow": False,
        "cultureExpense": False,
        "card": {
            "issuerCode": "61",
            "acquirerCode": "31",
            "number": "48902300****406*",
            "installmentPlanMonths": 0,
            "isInterestFree": False,
            "interestPayer": None,
            "approveNo": "00000000",
            "useCardPoint": False,
            "cardType": "신용",
            "ownerType": "개인",
            "acquireStatus": "READY",
            "amount": 15000,
        },
        "virtualAccount": None,
        "transfer": None,
        "mobilePhone": None,
        "giftCertificate": None,
        "cashReceipt": None,
        "cashReceipts": None,
        "discount": None,
        "cancels": None,
        "secret": None,
        "type": "NORMAL",
        "easyPay": None,
        "country": "KR",
        "failure": None,
        "isPartialCancelable": True,
        "receipt": {
            "url": "https://dashboard.tosspayments.com/receipt/redirection?transactionId=tviva&ref=PX"
        },
        "checkout": {"url": "https://api.tosspayments.com/v1/payments/5EnNZ/checkout"},
        "currency": "KRW",
        "totalAmount": 15000,
        "balanceAmount": 15000,
        "suppliedAmount": 13636,
        "vat": 1364,
        "taxFreeAmount": 0,
        "metadata": None,
        "method": "카드",
    }
    payment.update(overrides)
    return payment


def virtual_account_payment(**overrides: Any) -> dict[str, Any]:
    payment = card_payment(
        status="WAITING_FOR_DEPOSIT",
        method="가상계좌",
        approvedAt=None,
        card=None,
        secret="ps_Z1aOwX7K8mYPbBQKyW1r8yQxzvNP",
        virtualAccount={
            "accountType": "일반",
            "accountNumber": "X6505636518308",
            "bankCode": "20",
            "customerName": "박토스",
            "depositorName": "박토스",
            "dueDate": "2022-08-12T12:56:00+09:00",
            "refundStatus": "NONE",
            "expired": False,
            "settlementStatus": "INCOMPLETED",
            "refundReceiveAccount": None,
        },
    )
    payment.update(overrides)
    return payment
