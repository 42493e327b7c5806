"""Every error Sunap raises, drawn in one tree; the application's own are defined here.

Answered to the caller with a stable code (the edge maps each class to a status in
entrypoints/errors.py, and both doors render it the same way):

    SunapError                       sunap.domain.errors: code, message, extra
    ├── DomainError                  a business rule said no (sunap.domain.errors)
    │   ├── InvalidRequest, PaymentNotFound, DuplicateOrderId, PaymentIdTaken, PaymentKeyTaken
    │   ├── AmountMismatch
    │   ├── AlreadyProcessedPayment, ConfirmInProgress, NotConfirmableStatus, NotCancelableStatus
    │   ├── ExceedsBalance, BalanceChanged, RefundAccountRequired, PartialCancelNotAllowed
    │   ├── NotUnderReview, IllegalTransition
    │   └── BillingKeyNotFound, BillingKeyNotActive, SubscriptionNotFound, SubscriptionNotChangeable
    ├── PgError                      what the payment gateway answered, or that it did not
    │   ├── PaymentRejected, BillingRefused          it refused, definitively
    │   ├── InvalidPaymentKey, PgMismatch            the key or the PG's record is not this order's
    │   ├── PgTimeout, PgUnavailable                 no answer: the outcome is unknown
    │   └── ChargeTimeout, ChargeUnavailable         the same for a billing charge (kept for replay)
    ├── CallerRefused                who is asking, or how
    │   ├── Unauthenticated, Forbidden, RateLimited
    │   └── IdempotencyKeyReused, IdempotencyKeyInUse
    ├── ConcurrentUpdate             too many changes to one payment at once: retry
    ├── QuarantinedPayment           a payment no automatic path may reach
    ├── SharedPgAccount              an account whose Toss keys are another's too (also an
    │                                UnknownPgAccount, so every path that skips those skips it)
    └── SecretsKeyMissing            nothing to seal a billing key with

Signals between layers, never answered as they are (a use case turns each into an answer, a
retry or a log line):

    StaleAggregate                   a versioned write found the aggregate changed since read
    PublishFailed                    a broker did not acknowledge a batch
    UnknownPgAccount                 no credentials for the account a payment or webhook names
    GatewayError                     sunap.application.ports.gateway: the port's own tree
    ├── GatewayDeclined, GatewayAlreadyProcessed, GatewayNotFound, GatewayMisconfigured
    └── GatewayUnknown               no answer, or one that settles nothing

Each module keeps the exceptions only it raises and catches (LinkRefused, MalformedOrder,
WebhookRejected, AskLater, GatewayMismatch, SecretsUnavailable, WebhookMalformed,
SignatureInvalid); the edge has ApiError and PayloadTooLarge for what never reaches a use case.
"""

from __future__ import annotations

from sunap.domain.errors import SunapError
from sunap.domain.payment import Payment

# -- answered ------------------------------------------------------------------------------


class PgError(SunapError):
    """What the payment gateway answered, or that it did not answer."""


class CallerRefused(SunapError):
    """The caller may not make this call now: its key, its scope, its pace or its
    Idempotency-Key."""


class PaymentRejected(PgError):
    """The PG definitively refused; the payment (ABORTED, or its balance unchanged) rides along."""

    code = "PG_REJECTED"

    def __init__(self, payment: Payment, pg_code: str, pg_message: str) -> None:
        super().__init__(f"The payment gateway refused: {pg_message}")
        self.payment = payment
        self.pg_code = pg_code
        self.pg_message = pg_message


class PgTimeout(PgError):
    """The PG did not answer in time. The outcome is unknown; Sunap finds it out by itself."""

    code = "PG_TIMEOUT"


class PgUnavailable(PgError):
    """The PG could not be reached or failed. The outcome is unknown or nothing was sent."""

    code = "PG_UNAVAILABLE"


class ConcurrentUpdate(SunapError):
    """Too many simultaneous changes to one payment; retrying the request is safe."""

    code = "CONCURRENT_UPDATE"


class InvalidPaymentKey(PgError):
    """The paymentKey is not this order's at the PG (unknown to it, or another order's, or held
    by another payment of ours). Nothing was approved: the payment is READY again."""

    code = "INVALID_PAYMENT_KEY"

    def __init__(self, pg_code: str | None, message: str) -> None:
        super().__init__(message)
        self.pg_code = pg_code


class PgMismatch(PgError):
    """The PG's record of the payment disagrees with ours (another amount, order or key): never
    adopted; the payment is flagged for a person."""

    code = "PG_MISMATCH"


class Unauthenticated(CallerRefused):
    """No API key, or one we do not know."""

    code = "UNAUTHORIZED"


class Forbidden(CallerRefused):
    """The API key lacks the scope the call needs."""

    code = "FORBIDDEN"


class IdempotencyKeyReused(CallerRefused):
    """The Idempotency-Key was used before with another request (another body or operation)."""

    code = "IDEMPOTENCY_KEY_REUSED"


class IdempotencyKeyInUse(CallerRefused):
    """The first request with this Idempotency-Key is still running; retry shortly."""

    code = "IDEMPOTENCY_KEY_IN_USE"
    retry_after_seconds = 1


class RateLimited(CallerRefused):
    """The API key has spent its requests for now; nothing was done. Retry after a moment."""

    code = "RATE_LIMITED"

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class BillingRefused(PgError):
    """The PG definitively refused a billing-key issue or a subscription's first charge."""

    code = "PG_REJECTED"

    def __init__(self, pg_code: str, pg_message: str) -> None:
        super().__init__(f"The payment gateway refused: {pg_message}")
        self.extra = {"pgCode": pg_code, "pgMessage": pg_message}


class SecretsKeyMissing(SunapError):
    """No SUNAP_SECRETS_KEY to seal a billing key with: nothing is issued or stored."""

    code = "SERVICE_UNAVAILABLE"


class ChargeTimeout(PgError):
    """A billing-key charge went unanswered: `payment` is IN_PROGRESS and the reconciler settles
    it. Unlike PgTimeout this answer is kept for its Idempotency-Key: a retry must not start a
    second charge (a new payment, a new orderId) of the same thing."""

    code = "PG_TIMEOUT"


class ChargeUnavailable(PgError):
    """As ChargeTimeout, when Toss could not be reached or failed."""

    code = "PG_UNAVAILABLE"


class QuarantinedPayment(SunapError):
    """The payment shared its orderId or paymentKey with another tenant's on one account before
    orderIds were unique per account. Nothing automatic reaches the PG for it: a person decides."""

    code = "DUPLICATE_ORDER_ID"


# -- signals between layers ----------------------------------------------------------------


class StaleAggregate(Exception):
    """A versioned write matched no row: someone else changed the aggregate since it was read.
    Retry from a fresh read; a use case that cannot answers ConcurrentUpdate."""


class PublishFailed(Exception):
    """The broker did not acknowledge every message; none may be marked published."""


class UnknownPgAccount(Exception):
    """A payment or webhook names an account the service has no credentials for."""


class SharedPgAccount(SunapError, UnknownPgAccount):
    """A tenant's own account has the Toss keys of the default account or of another tenant's:
    Toss keeps one set of orders and payment keys per account, so each tenant would reach the
    other's payments. Nothing is sent on it until an operator sorts the accounts out. Also an
    own account the embedded sandbox refused to hold apart (its client key is another's there)."""

    code = "SERVICE_UNAVAILABLE"
