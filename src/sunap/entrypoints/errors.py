"""One registry from errors to the API's status codes, shared by both doors: HTTP answers with
the status itself, gRPC derives its status code from it (entrypoints/grpc/errors.py). An error
added here reaches both doors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sunap.application.errors import (
    BillingRefused,
    ChargeTimeout,
    ChargeUnavailable,
    ConcurrentUpdate,
    Forbidden,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    InvalidPaymentKey,
    PaymentRejected,
    PgMismatch,
    PgTimeout,
    PgUnavailable,
    QuarantinedPayment,
    RateLimited,
    SecretsKeyMissing,
    SharedPgAccount,
    Unauthenticated,
)
from sunap.domain import errors as d

STATUS_BY_ERROR: dict[type[d.SunapError], int] = {
    d.InvalidRequest: 400,
    d.PaymentNotFound: 404,
    d.DuplicateOrderId: 409,
    d.PaymentIdTaken: 409,
    d.AmountMismatch: 400,
    d.AlreadyProcessedPayment: 409,
    d.PaymentKeyTaken: 400,
    InvalidPaymentKey: 400,
    PgMismatch: 502,
    d.ConfirmInProgress: 409,
    d.NotConfirmableStatus: 409,
    d.NotCancelableStatus: 409,
    d.ExceedsBalance: 422,
    d.BalanceChanged: 409,
    d.RefundAccountRequired: 400,
    d.PartialCancelNotAllowed: 400,
    d.IllegalTransition: 409,
    PaymentRejected: 402,
    BillingRefused: 402,
    ChargeTimeout: 504,
    ChargeUnavailable: 502,
    SecretsKeyMissing: 503,
    SharedPgAccount: 503,
    QuarantinedPayment: 409,
    d.BillingKeyNotFound: 404,
    d.SubscriptionNotFound: 404,
    d.BillingKeyNotActive: 409,
    d.SubscriptionNotChangeable: 409,
    PgTimeout: 504,
    PgUnavailable: 502,
    ConcurrentUpdate: 409,
    Unauthenticated: 401,
    Forbidden: 403,
    IdempotencyKeyReused: 422,
    IdempotencyKeyInUse: 409,
    RateLimited: 429,
}
INTERNAL_ERROR = ("INTERNAL_ERROR", "Something went wrong on our side; nothing was guessed.")


def status_of(error: d.SunapError) -> int:
    """The API's status for an error: its class's entry, or 400 for a refusal not listed."""
    return next((s for cls, s in STATUS_BY_ERROR.items() if isinstance(error, cls)), 400)


def validation_message(problems: Sequence[Mapping[str, Any]]) -> str:
    """pydantic's validation errors as one sentence naming the fields (at most five)."""
    parts = []
    for problem in problems[:5]:
        where = ".".join(str(p) for p in problem.get("loc", ()) if p != "body")
        kind = problem.get("type", "")
        if kind == "extra_forbidden":
            parts.append(f"unknown field '{where}'")
        elif kind == "json_invalid":
            parts.append("the body is not valid JSON")
        else:
            parts.append(f"{where or 'body'}: {problem.get('msg', 'invalid')}")
    return "; ".join(parts) or "The request is not valid."
