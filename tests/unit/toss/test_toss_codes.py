"""Every Toss error answer becomes exactly one of our gateway errors, through one table."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest

from sunap.adapters.toss import RetryPolicy, TossGateway
from sunap.application.ports.gateway import (
    GatewayAlreadyProcessed,
    GatewayDeclined,
    GatewayError,
    GatewayMisconfigured,
    GatewayNotFound,
    GatewayUnknown,
)
from sunap_toss.codes import TABLE, Operation, Verdict, classify
from tests.unit.toss.toss_fakes import FakeToss

REFUSALS = [
    (400, "INVALID_REJECT_CARD"),
    (400, "INVALID_STOPPED_CARD"),
    (400, "INVALID_CARD_EXPIRATION"),
    (400, "INVALID_CARD_NUMBER"),
    (400, "INVALID_CARD_LOST_OR_STOLEN"),
    (400, "EXCEED_MAX_DAILY_PAYMENT_COUNT"),
    (400, "EXCEED_MAX_PAYMENT_AMOUNT"),
    (400, "EXCEED_MAX_CARD_INSTALLMENT_PLAN"),
    (400, "EXCEED_MAX_AMOUNT"),
    (400, "BELOW_MINIMUM_AMOUNT"),
    (400, "NOT_ALLOWED_POINT_USE"),
    (403, "REJECT_CARD_PAYMENT"),
    (403, "REJECT_CARD_COMPANY"),
    (403, "REJECT_ACCOUNT_PAYMENT"),
    (403, "REJECT_TOSSPAY_INVALID_ACCOUNT"),
    (403, "EXCEED_MAX_AUTH_COUNT"),
    (403, "EXCEED_MAX_ONE_DAY_AMOUNT"),
    (403, "INVALID_PASSWORD"),
    (403, "FDS_ERROR"),
]
UNKNOWNS = [
    (400, "PROVIDER_ERROR"),
    (400, "CARD_PROCESSING_ERROR"),
    (400, "A_CODE_TOSS_ADDS_NEXT_YEAR"),
    (403, "NOT_AVAILABLE_BANK"),
    (403, "FORBIDDEN_REQUEST"),
    (500, "FAILED_PAYMENT_INTERNAL_SYSTEM_PROCESSING"),
    (500, "FAILED_INTERNAL_SYSTEM_PROCESSING"),
    (500, "UNKNOWN_PAYMENT_ERROR"),
    (500, "COMMON_ERROR"),
    (502, "REJECT_CARD_PAYMENT"),  # a 5xx is never a refusal, whatever its code
    (409, "IDEMPOTENT_REQUEST_PROCESSING"),
    (429, "TOO_MANY_REQUESTS"),
    (403, "FORBIDDEN_CONSECUTIVE_REQUEST"),
]
MISCONFIGURED = [
    (401, "UNAUTHORIZED_KEY"),
    (400, "INVALID_API_KEY"),
    (403, "INCORRECT_BASIC_AUTH_FORMAT"),
    (400, "INVALID_IDEMPOTENCY_KEY"),
]


@pytest.fixture
def once(make_gateway: Callable[..., TossGateway]) -> TossGateway:
    return make_gateway(retry_policy=RetryPolicy.never())


async def _confirm(gateway: TossGateway) -> None:
    await gateway.confirm(payment_key="pk", order_id="order-1", amount=1000, idempotency_key="k")


async def _raised(call: Awaitable[object]) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        await call
    return caught.value


@pytest.mark.parametrize(("status", "code"), REFUSALS)
async def test_a_listed_refusal_on_confirm_is_declined(
    once: TossGateway, toss: FakeToss, status: int, code: str
) -> None:
    toss.error(code, status)
    error = await _raised(_confirm(once))
    assert type(error) is GatewayDeclined
    assert error.code == code
    assert error.message == f"message for {code}"
    assert error.exchange is not None and error.exchange.outcome == "declined"


@pytest.mark.parametrize(("status", "code"), UNKNOWNS)
async def test_a_transient_or_unlisted_answer_on_confirm_is_unknown(
    once: TossGateway, toss: FakeToss, status: int, code: str
) -> None:
    toss.error(code, status)
    error = await _raised(_confirm(once))
    assert type(error) is GatewayUnknown
    assert error.code == code
    assert error.timed_out is False


@pytest.mark.parametrize(("status", "code"), MISCONFIGURED)
async def test_a_key_or_request_problem_is_misconfigured_not_declined(
    once: TossGateway, toss: FakeToss, status: int, code: str
) -> None:
    toss.error(code, status)
    error = await _raised(_confirm(once))
    assert type(error) is GatewayMisconfigured
    assert error.code == code


@pytest.mark.parametrize("code", ["NOT_FOUND_PAYMENT", "NOT_FOUND_PAYMENT_SESSION"])
async def test_an_unknown_payment_key_or_expired_window_on_confirm_is_not_found(
    once: TossGateway, toss: FakeToss, code: str
) -> None:
    """Nothing was approved: the payment may go back to READY for its real confirm."""
    toss.error(code, 404)
    error = await _raised(_confirm(once))
    assert type(error) is GatewayNotFound
    assert error.code == code


async def test_already_processed_on_confirm_says_look_it_up(
    once: TossGateway, toss: FakeToss
) -> None:
    toss.error("ALREADY_PROCESSED_PAYMENT", 400)
    assert type(await _raised(_confirm(once))) is GatewayAlreadyProcessed


@pytest.mark.parametrize("code", ["NOT_FOUND_PAYMENT", "NOT_FOUND"])
async def test_an_unknown_payment_on_look_up_is_not_found(
    once: TossGateway, toss: FakeToss, code: str
) -> None:
    toss.error(code, 404)
    error = await _raised(once.lookup_by_order_id("order-nobody"))
    assert type(error) is GatewayNotFound
    assert error.exchange is not None and error.exchange.outcome == "not_found"


async def test_a_card_refusal_code_on_a_look_up_is_not_a_decline(
    once: TossGateway, toss: FakeToss
) -> None:
    toss.error("REJECT_CARD_PAYMENT", 403)
    assert type(await _raised(once.lookup_by_order_id("order-1"))) is GatewayUnknown


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, "ALREADY_CANCELED_PAYMENT", GatewayAlreadyProcessed),
        (403, "NOT_CANCELABLE_AMOUNT", GatewayDeclined),
        (403, "NOT_CANCELABLE_PAYMENT", GatewayDeclined),
        (403, "NOT_ALLOWED_PARTIAL_REFUND", GatewayDeclined),
        (403, "NOT_ALLOWED_PARTIAL_REFUND_WAITING_DEPOSIT", GatewayDeclined),
        (400, "INVALID_REFUND_ACCOUNT_INFO", GatewayDeclined),
        (400, "INVALID_REFUND_ACCOUNT_NUMBER", GatewayDeclined),
        (400, "REFUND_REJECTED", GatewayDeclined),
        (400, "NOT_MATCHES_REFUNDABLE_AMOUNT", GatewayDeclined),
        (403, "EXCEED_MAX_REFUND_DUE", GatewayDeclined),
        (500, "FAILED_REFUND_PROCESS", GatewayUnknown),
        (404, "NOT_FOUND_PAYMENT", GatewayNotFound),
        (403, "REJECT_CARD_PAYMENT", GatewayUnknown),
    ],
)
async def test_cancel_has_its_own_refusals_and_an_earlier_cancel_counts_as_processed(
    once: TossGateway, toss: FakeToss, status: int, code: str, expected: type[GatewayError]
) -> None:
    toss.error(code, status)
    error = await _raised(
        once.cancel(payment_key="pk", reason="r", amount=1000, idempotency_key="k")
    )
    assert type(error) is expected


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, "NOT_MATCHES_CUSTOMER_KEY", GatewayDeclined),
        (403, "REJECT_CARD_PAYMENT", GatewayDeclined),
        (400, "DUPLICATED_ORDER_ID", GatewayAlreadyProcessed),
        (400, "ALREADY_PROCESSED_PAYMENT", GatewayAlreadyProcessed),
        (404, "NOT_FOUND_BILLING", GatewayNotFound),
        (500, "FAILED_BILLING_AUTO_CANCEL", GatewayUnknown),
    ],
)
async def test_billing_charge_answers_are_classified(
    once: TossGateway, toss: FakeToss, status: int, code: str, expected: type[GatewayError]
) -> None:
    toss.error(code, status)
    error = await _raised(
        once.charge_billing_key(
            billing_key="bk",
            customer_key="c",
            order_id="order-1",
            order_name="n",
            amount=1000,
            idempotency_key="k",
        )
    )
    assert type(error) is expected


async def test_a_billing_issue_refusal_is_declined(once: TossGateway, toss: FakeToss) -> None:
    toss.error("INVALID_BILLING_AUTH", 400)
    error = await _raised(
        once.issue_billing_key(auth_key="a", customer_key="c", idempotency_key="k")
    )
    assert type(error) is GatewayDeclined


async def test_deleting_an_unknown_billing_key_is_not_found(
    once: TossGateway, toss: FakeToss
) -> None:
    toss.error("NOT_FOUND_BILLING", 404)
    assert type(await _raised(once.delete_billing_key("bk"))) is GatewayNotFound


@pytest.mark.parametrize(
    ("status", "text"),
    [(502, "<html>Bad Gateway</html>"), (400, "not json"), (404, ""), (200, "<html>ok</html>")],
)
async def test_a_body_that_is_not_toss_json_is_unknown(
    once: TossGateway, toss: FakeToss, status: int, text: str
) -> None:
    toss.answer_text(status, text)
    error = await _raised(_confirm(once))
    assert type(error) is GatewayUnknown
    assert error.exchange is not None and error.exchange.status_code == status


async def test_a_success_whose_payment_cannot_be_read_is_unknown_not_failed(
    once: TossGateway, toss: FakeToss
) -> None:
    toss.answer(200, {"paymentKey": "pk", "orderId": "order-1", "status": "DONE"})
    error = await _raised(_confirm(once))
    assert type(error) is GatewayUnknown
    assert error.code == "MALFORMED_RESPONSE"
    assert error.exchange is not None and error.exchange.outcome == "unknown"


@pytest.mark.parametrize(
    "exception",
    [
        httpx.ConnectError("refused"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("connection reset"),
    ],
)
async def test_no_answer_at_all_is_unknown_and_not_a_timeout(
    once: TossGateway, toss: FakeToss, exception: Exception
) -> None:
    toss.fail(exception)
    error = await _raised(_confirm(once))
    assert type(error) is GatewayUnknown
    assert error.timed_out is False
    assert error.exchange is not None and error.exchange.status_code is None


@pytest.mark.parametrize("exception", [httpx.ReadTimeout("slow"), httpx.WriteTimeout("slow")])
async def test_a_timeout_after_sending_is_unknown_and_says_it_timed_out(
    once: TossGateway, toss: FakeToss, exception: Exception
) -> None:
    toss.fail(exception)
    error = await _raised(_confirm(once))
    assert type(error) is GatewayUnknown
    assert error.timed_out is True
    assert error.code == "TIMEOUT"


async def test_an_idempotency_key_toss_would_refuse_is_caught_before_sending(
    once: TossGateway, toss: FakeToss
) -> None:
    error = await _raised(
        once.confirm(payment_key="pk", order_id="order-1", amount=1, idempotency_key="k" * 301)
    )
    assert type(error) is GatewayMisconfigured
    assert toss.requests == []


def test_the_table_never_declines_a_server_error_or_a_throttle() -> None:
    for operation in Operation:
        for code in TABLE[operation]:
            assert classify(operation, 500, code) is Verdict.UNKNOWN
            assert classify(operation, 429, code) is Verdict.UNKNOWN


def test_look_ups_can_only_be_found_missing_or_misconfigured() -> None:
    assert set(TABLE[Operation.LOOKUP].values()) == {Verdict.NOT_FOUND, Verdict.MISCONFIGURED}


async def test_an_answer_whose_encoding_cannot_be_decoded_is_unknown(
    once: TossGateway, toss: FakeToss
) -> None:
    toss.respond(
        lambda request: httpx.Response(
            200, headers={"Content-Encoding": "gzip"}, content=b"not gzip at all"
        )
    )
    error = await _raised(_confirm(once))
    assert type(error) is GatewayUnknown
    assert error.code == "MALFORMED_RESPONSE"


async def test_a_json_constant_like_nan_in_an_answer_is_unknown(
    once: TossGateway, toss: FakeToss
) -> None:
    toss.respond(
        lambda request: httpx.Response(
            200,
            headers={"Content-Type": "application/json"},
            content=b'{"paymentKey":"pk","orderId":"order-1","status":"DONE","totalAmount":NaN}',
        )
    )
    error = await _raised(_confirm(once))
    assert type(error) is GatewayUnknown
    assert error.code == "MALFORMED_RESPONSE"
