"""Errors a use case raises beyond the domain's: what happened at the PG, in our words."""

from __future__ import annotations

from sunap.domain.errors import DomainError
from sunap.domain.payment import Payment


class PaymentRejected(DomainError):
    """The PG definitively refused; the payment (ABORTED, or with its balance unchanged) rides along."""

    code = "PG_REJECTED"

    def __init__(self, payment: Payment, pg_code: str, pg_message: str) -> None:
        super().__init__(f"The payment gateway refused: {pg_message}")
        self.payment = payment
        self.pg_code = pg_code
        self.pg_message = pg_message


class PgTimeout(DomainError):
    """The PG did not answer in time. The outcome is unknown; Sunap finds it out by itself."""

    code = "PG_TIMEOUT"


class PgUnavailable(DomainError):
    """The PG could not be reached or failed. The outcome is unknown or nothing was sent."""

    code = "PG_UNAVAILABLE"


class ConcurrentUpdate(DomainError):
    """Too many simultaneous changes to one payment; retrying the request is safe."""

    code = "CONCURRENT_UPDATE"


class InvalidPaymentKey(DomainError):
    """The paymentKey is not this order's at the PG (unknown to it, or another order's, or held
    by another payment of ours). Nothing was approved: the payment is READY again."""

    code = "INVALID_PAYMENT_KEY"

    def __init__(self, pg_code: str | None, message: str) -> None:
        super().__init__(message)
        self.pg_code = pg_code


class PgMismatch(DomainError):
    """The PG's record of the payment disagrees with ours (another amount, order or key): never
    adopted; the payment is flagged for a person."""

    code = "PG_MISMATCH"


class Unauthenticated(DomainError):
    """No API key, or one we do not know."""

    code = "UNAUTHORIZED"


class Forbidden(DomainError):
    """The API key lacks the scope the call needs."""

    code = "FORBIDDEN"


class IdempotencyKeyReused(DomainError):
    """The Idempotency-Key was used before with another request (another body or operation)."""

    code = "IDEMPOTENCY_KEY_REUSED"


class IdempotencyKeyInUse(DomainError):
    """The first request with this Idempotency-Key is still running; retry shortly."""

    code = "IDEMPOTENCY_KEY_IN_USE"
    retry_after_seconds = 1


class RateLimited(DomainError):
    """The API key has spent its requests for now; nothing was done. Retry after a moment."""

    code = "RATE_LIMITED"

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class BillingRefused(DomainError):
    """The PG definitively refused a billing-key issue or a subscription's first charge."""

    code = "PG_REJECTED"

    def __init__(self, pg_code: str, pg_message: str) -> None:
        super().__init__(f"The payment gateway refused: {pg_message}")
        self.extra = {"pgCode": pg_code, "pgMessage": pg_message}


class SecretsKeyMissing(DomainError):
    """No SUNAP_SECRETS_KEY to seal a billing key with: nothing is issued or stored."""

    code = "SERVICE_UNAVAILABLE"


class ChargeTimeout(DomainError):
    """A billing-key charge went unanswered: `payment` is IN_PROGRESS and the reconciler settles
    it. Unlike PgTimeout this answer is kept for its Idempotency-Key: a retry must not start a
    second charge (a new payment, a new orderId) of the same thing."""

    code = "PG_TIMEOUT"


class ChargeUnavailable(DomainError):
    """As ChargeTimeout, when Toss could not be reached or failed."""

    code = "PG_UNAVAILABLE"
