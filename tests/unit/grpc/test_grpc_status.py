"""Errors reach gRPC with the status of their API status (the one registry both doors use), the
API's code in `sunap-error-code` and a google.rpc.ErrorInfo."""

from __future__ import annotations

import grpc
import pytest
from google.rpc.error_details_pb2 import ErrorInfo

from sunap.application.errors import PaymentRejected
from sunap.application.presenters import payment_resource
from sunap.domain.errors import ExceedsBalance, SunapError
from sunap.domain.payment import Failure, Payment
from sunap.entrypoints.errors import STATUS_BY_ERROR, status_of
from sunap.entrypoints.grpc.errors import grpc_status, refusal_status
from sunap.entrypoints.grpc.messages import payment_message
from sunap.v1 import payments_pb2 as pb
from tests.fakes.payments import NOW, new_payment

C = grpc.StatusCode
# The API's mapping: one gRPC status per HTTP status, except 400/422 (chosen per code) and 409
# (ALREADY_EXISTS for DUPLICATE_ORDER_ID only).
ALLOWED = {
    400: {C.INVALID_ARGUMENT, C.FAILED_PRECONDITION},
    422: {C.INVALID_ARGUMENT, C.FAILED_PRECONDITION},
    401: {C.UNAUTHENTICATED},
    402: {C.FAILED_PRECONDITION},
    403: {C.PERMISSION_DENIED},
    404: {C.NOT_FOUND},
    409: {C.ABORTED},
    429: {C.RESOURCE_EXHAUSTED},
    502: {C.UNAVAILABLE},
    503: {C.UNAVAILABLE},
    504: {C.DEADLINE_EXCEEDED},
}
# The per-code choices docs/grpc.md writes down.
CHOSEN = {
    "INVALID_REQUEST": C.INVALID_ARGUMENT,
    "AMOUNT_MISMATCH": C.INVALID_ARGUMENT,
    "REFUND_ACCOUNT_REQUIRED": C.INVALID_ARGUMENT,
    "IDEMPOTENCY_KEY_REUSED": C.INVALID_ARGUMENT,
    "EXCEEDS_BALANCE": C.FAILED_PRECONDITION,
    "PARTIAL_CANCEL_NOT_ALLOWED": C.FAILED_PRECONDITION,
    "PG_REJECTED": C.FAILED_PRECONDITION,
    "DUPLICATE_ORDER_ID": C.ALREADY_EXISTS,
}


@pytest.mark.parametrize("error", list(STATUS_BY_ERROR), ids=lambda e: e.code)
def test_every_registered_error_gets_the_grpc_status_the_api_gives_its_http_status(
    error: type[SunapError],
) -> None:
    http = STATUS_BY_ERROR[error]
    status = grpc_status(error.code, http)
    assert status == CHOSEN.get(error.code) or status in ALLOWED[http], (error.code, http, status)


@pytest.mark.parametrize(
    ("code", "http", "status"),
    [
        ("INVALID_PAYMENT_KEY", 400, C.INVALID_ARGUMENT),
        ("PAYLOAD_TOO_LARGE", 413, C.RESOURCE_EXHAUSTED),
        ("RATE_LIMITED", 429, C.RESOURCE_EXHAUSTED),
        ("PG_MISMATCH", 502, C.UNAVAILABLE),
        ("SERVICE_UNAVAILABLE", 503, C.UNAVAILABLE),
        ("INTERNAL_ERROR", 500, C.INTERNAL),
    ],
)
def test_an_error_new_to_the_registry_needs_nothing_more_to_reach_grpc(
    code: str, http: int, status: grpc.StatusCode
) -> None:
    assert grpc_status(code, http) == status


async def test_a_refusal_carries_its_code_in_an_error_info_of_the_sunap_domain() -> None:
    async def no_payment(_: Payment) -> pb.Payment:
        pytest.fail("no payment")

    answer = await refusal_status(ExceedsBalance("too much"), no_payment)
    info = ErrorInfo()
    assert answer.code == C.FAILED_PRECONDITION.value[0] and answer.message == "too much"
    assert answer.details[0].Unpack(info)
    assert (info.reason, info.domain) == ("EXCEEDS_BALANCE", "sunap")
    assert status_of(ExceedsBalance("too much")) == 422


async def test_a_pg_refusal_carries_the_pg_code_and_the_aborted_payment() -> None:
    payment = new_payment()
    payment.begin_confirm(payment_key="pk", amount=15000, idempotency_key="k", now=NOW)
    payment.abort(Failure("REJECT_CARD_PAYMENT", "한도초과"), NOW)
    refused = PaymentRejected(payment, "REJECT_CARD_PAYMENT", "한도초과")

    async def present(p: Payment) -> pb.Payment:
        return payment_message(payment_resource(p))

    answer = await refusal_status(refused, present)

    info = ErrorInfo()
    assert answer.details[0].Unpack(info)
    assert info.reason == "PG_REJECTED"
    assert dict(info.metadata) == {"pgCode": "REJECT_CARD_PAYMENT", "pgMessage": "한도초과"}
    shown = pb.Payment()
    assert answer.details[1].Unpack(shown)
    assert shown.status == pb.ABORTED and shown.failure.code == "REJECT_CARD_PAYMENT"


def test_a_payment_message_says_what_the_http_resource_says_of_a_cancel_in_doubt() -> None:
    """WatchPayment sends a message per change: a cancel reserved while Toss's answer is
    unknown, or a review flag, must show in it, not only in its updated_at."""
    from sunap.domain.payment import Approval, PaymentMethod, PaymentStatus

    payment = new_payment()
    payment.begin_confirm(payment_key="pk", amount=15000, idempotency_key="k", now=NOW)
    payment.approve(Approval("pk", PaymentStatus.DONE, PaymentMethod.CARD, NOW), NOW)
    payment.begin_cancel(
        cancel_id="cxl_1",
        reason="고객 변심",
        amount=4000,
        idempotency_key="ck",
        has_refund_account=False,
        now=NOW,
    )
    payment.flag_for_review("Toss's record disagrees", NOW)

    shown = payment_message(payment_resource(payment))

    assert shown.pending_cancel_amount == 4000
    assert (shown.needs_review, shown.review_reason) == (True, "Toss's record disagrees")
    assert (shown.billing_key_id, shown.subscription_id) == ("", "")
