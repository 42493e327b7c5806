"""The client's retries, against scripted answers through httpx's MockTransport (a transport the
client takes, not a patch): which calls are sent again, with which Idempotency-Key, and when the
client gives up. Retry waits are set to zero so the tests are fast."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sunap_client import (
    AsyncSunapClient,
    InvalidRequest,
    OutcomeUnknown,
    PaymentNeedsReview,
    RateLimited,
    RetryPolicy,
    ServiceUnavailable,
    SunapClient,
)

PAYMENT = {"id": "pay_1", "orderId": "order-0001", "orderName": "생수", "status": "DONE",
           "amount": 15000, "balanceAmount": 15000, "currency": "KRW"}  # fmt: skip
NO_WAIT = RetryPolicy(max_retries=3, backoff=0.0)


class Script:
    """Answers in turn; records every request it was sent."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self._answers: Iterator[httpx.Response | Exception] = iter(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = next(self._answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    @property
    def keys(self) -> list[str | None]:
        return [r.headers.get("Idempotency-Key") for r in self.requests]


def error(status: int, code: str, **headers: str) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "message": "m"}, headers=headers)


def client(script: Script, retry: RetryPolicy = NO_WAIT) -> SunapClient:
    return SunapClient("http://sunap.test", "sk_test", retry=retry,
                       transport=httpx.MockTransport(script))  # fmt: skip


def confirm(sunap: SunapClient, **kwargs: str) -> object:
    return sunap.payments.confirm(payment_key="pk", order_id="order-0001", amount=15000, **kwargs)


def test_a_post_keeps_one_generated_key_across_its_retries() -> None:
    script = Script(
        httpx.ConnectError("refused"),
        error(502, "PG_UNAVAILABLE"),
        error(409, "CONFIRM_IN_PROGRESS"),
        httpx.Response(200, json=PAYMENT),
    )
    with client(script) as sunap:
        assert confirm(sunap) is not None
    assert len(script.requests) == 4
    assert script.keys[0] and len(set(script.keys)) == 1
    assert script.requests[0].headers["Authorization"] == "Bearer sk_test"


def test_each_post_has_a_key_of_its_own_and_the_callers_key_is_sent_as_given() -> None:
    script = Script(*(httpx.Response(200, json=PAYMENT) for _ in range(3)))
    with client(script) as sunap:
        confirm(sunap)
        confirm(sunap)
        confirm(sunap, idempotency_key="confirm-order-0001")
    assert script.keys[0] != script.keys[1]
    assert script.keys[2] == "confirm-order-0001"


def test_a_get_carries_no_key_and_is_retried_on_a_5xx() -> None:
    script = Script(error(503, "SERVICE_UNAVAILABLE"), httpx.Response(200, json=PAYMENT))
    with client(script) as sunap:
        assert sunap.payments.get("pay_1").id == "pay_1"
    assert script.keys == [None, None]


def test_a_refusal_is_not_retried() -> None:
    script = Script(error(400, "AMOUNT_MISMATCH"))
    with client(script) as sunap, pytest.raises(InvalidRequest) as refused:
        confirm(sunap)
    assert (refused.value.code, refused.value.status) == ("AMOUNT_MISMATCH", 400)
    assert len(script.requests) == 1


def test_a_mismatch_with_toss_is_not_retried() -> None:
    script = Script(error(502, "PG_MISMATCH"))
    with client(script) as sunap, pytest.raises(PaymentNeedsReview):
        confirm(sunap)
    assert len(script.requests) == 1


def test_when_retries_run_out_an_unanswered_post_is_an_unknown_outcome() -> None:
    script = Script(*(httpx.ReadTimeout("slow") for _ in range(4)))
    with client(script) as sunap, pytest.raises(OutcomeUnknown) as unknown:
        confirm(sunap)
    assert unknown.value.status is None and unknown.value.code == "NO_ANSWER"
    assert len(script.requests) == 4 and len(set(script.keys)) == 1


def test_an_unanswered_get_is_unavailable_not_an_unknown_outcome() -> None:
    script = Script(*(httpx.ConnectError("refused") for _ in range(4)))
    with client(script) as sunap, pytest.raises(ServiceUnavailable) as down:
        sunap.payments.get("pay_1")
    assert not isinstance(down.value, OutcomeUnknown)


def test_a_rate_limit_is_waited_out_as_retry_after_says() -> None:
    script = Script(error(429, "RATE_LIMITED", **{"Retry-After": "0"}),
                    httpx.Response(200, json=PAYMENT))  # fmt: skip
    with client(script) as sunap:
        assert sunap.payments.get("pay_1").status == "DONE"
    assert len(script.requests) == 2


def test_a_retry_after_longer_than_the_policy_allows_is_raised_to_the_caller() -> None:
    script = Script(error(429, "RATE_LIMITED", **{"Retry-After": "120"}))
    with client(script, RetryPolicy(max_wait=30)) as sunap, pytest.raises(RateLimited) as limited:
        sunap.payments.get("pay_1")
    assert limited.value.retry_after == 120.0
    assert len(script.requests) == 1


def test_a_body_that_is_not_the_error_shape_still_gives_a_typed_error() -> None:
    script = Script(httpx.Response(400, text="<html>bad gateway</html>"))
    with client(script) as sunap, pytest.raises(InvalidRequest) as refused:
        sunap.payments.get("pay_1")
    assert refused.value.code == "HTTP_400"


def test_path_values_are_escaped() -> None:
    script = Script(httpx.Response(200, json={"items": []}))
    with client(script) as sunap:
        assert sunap.payments.transactions("pay_1/../../admin") == ()
    assert script.requests[0].url.raw_path == b"/v1/payments/pay_1%2F..%2F..%2Fadmin/transactions"


async def test_the_async_client_retries_a_post_with_the_same_key() -> None:
    script = Script(error(504, "PG_TIMEOUT"), httpx.Response(200, json=PAYMENT))
    async with AsyncSunapClient(
        "http://sunap.test", "sk_test", retry=NO_WAIT, transport=httpx.MockTransport(script)
    ) as sunap:
        paid = await sunap.payments.confirm(payment_key="pk", order_id="order-0001", amount=15000)
    assert paid.status == "DONE"
    assert len(script.requests) == 2 and len(set(script.keys)) == 1
