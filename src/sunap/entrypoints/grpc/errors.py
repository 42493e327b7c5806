"""Errors as gRPC statuses, derived from the shared registry (entrypoints/errors.py).

A refusal ends the call with the gRPC status of its API status, the API's code in the trailing
metadata `sunap-error-code`, and a google.rpc.Status in `grpc-status-details-bin` whose first
detail is a google.rpc.ErrorInfo (reason = the code, domain = "sunap"). A PG_REJECTED also
carries `pgCode` and `pgMessage` in the ErrorInfo's metadata and the payment as a second detail;
an INVALID_PAYMENT_KEY the PG answered carries its `pgCode`, and a RATE_LIMITED its
`retryAfterSeconds` (HTTP's Retry-After), as over HTTP.

How 400 and 422 split (the API leaves it per code): INVALID_ARGUMENT when the request itself is
wrong, whatever the payment's state: malformed, or contradicting what the order says (its
amount, its payment key), a required field missing, or an Idempotency-Key bound to another
request. FAILED_PRECONDITION when a well-formed request meets a payment whose state refuses it
(its balance, or partial cancels for its method), as for a 402 refusal by the PG.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

import grpc
from google.rpc.error_details_pb2 import ErrorInfo
from google.rpc.status_pb2 import Status

from sunap.application.errors import InvalidPaymentKey, PaymentRejected, RateLimited
from sunap.domain.errors import SunapError
from sunap.domain.payment import Payment
from sunap.entrypoints.errors import INTERNAL_ERROR, status_of
from sunap.v1 import payments_pb2 as pb

DOMAIN = "sunap"
ERROR_CODE_KEY = "sunap-error-code"
DETAILS_KEY = "grpc-status-details-bin"

C = grpc.StatusCode
GRPC_BY_HTTP_STATUS: dict[int, grpc.StatusCode] = {
    400: C.INVALID_ARGUMENT,
    401: C.UNAUTHENTICATED,
    402: C.FAILED_PRECONDITION,
    403: C.PERMISSION_DENIED,
    404: C.NOT_FOUND,
    409: C.ABORTED,
    413: C.RESOURCE_EXHAUSTED,
    422: C.INVALID_ARGUMENT,
    429: C.RESOURCE_EXHAUSTED,
    500: C.INTERNAL,
    502: C.UNAVAILABLE,
    503: C.UNAVAILABLE,
    504: C.DEADLINE_EXCEEDED,
}
# Codes whose gRPC status is not their HTTP status's.
GRPC_BY_CODE: dict[str, grpc.StatusCode] = {
    "DUPLICATE_ORDER_ID": C.ALREADY_EXISTS,
    "EXCEEDS_BALANCE": C.FAILED_PRECONDITION,
    "PARTIAL_CANCEL_NOT_ALLOWED": C.FAILED_PRECONDITION,
}


def grpc_status(code: str, http_status: int) -> grpc.StatusCode:
    if code in GRPC_BY_CODE:
        return GRPC_BY_CODE[code]
    if http_status in GRPC_BY_HTTP_STATUS:
        return GRPC_BY_HTTP_STATUS[http_status]
    return C.INTERNAL if http_status >= 500 else C.FAILED_PRECONDITION


def rich_status(
    status: grpc.StatusCode, code: str, message: str, metadata: dict[str, str] | None = None
) -> Status:
    answer = Status(code=status.value[0], message=message)
    info = ErrorInfo(reason=code, domain=DOMAIN, metadata=metadata or {})
    answer.details.add().Pack(info)
    return answer


async def refusal_status(
    error: SunapError, present: Callable[[Payment], Awaitable[pb.Payment]]
) -> Status:
    status = grpc_status(error.code, status_of(error))
    if isinstance(error, InvalidPaymentKey) and error.pg_code is not None:
        return rich_status(status, error.code, error.message, {"pgCode": error.pg_code})
    if isinstance(error, RateLimited):  # what HTTP's Retry-After header says
        wait = {"retryAfterSeconds": str(error.retry_after_seconds)}
        return rich_status(status, error.code, error.message, wait)
    if not isinstance(error, PaymentRejected):
        return rich_status(status, error.code, error.message)
    pg = {"pgCode": error.pg_code, "pgMessage": error.pg_message}
    answer = rich_status(status, error.code, error.message, pg)
    answer.details.add().Pack(await present(error.payment))
    return answer


def internal_status() -> Status:
    return rich_status(C.INTERNAL, *INTERNAL_ERROR)


async def abort(context: grpc.aio.ServicerContext[Any, Any], answer: Status) -> NoReturn:
    """End the call with this status; raises (grpc.aio.AbortError)."""
    metadata = ((ERROR_CODE_KEY, error_code(answer)), (DETAILS_KEY, answer.SerializeToString()))
    await context.abort(STATUS_BY_NUMBER[answer.code], answer.message, metadata)


def error_code(answer: Status) -> str:
    info = ErrorInfo()
    return next((info.reason for detail in answer.details if detail.Unpack(info)), "UNKNOWN")


STATUS_BY_NUMBER = {status.value[0]: status for status in grpc.StatusCode}
