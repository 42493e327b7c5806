"""The domain's refusals, each with a stable `code`; the edge gives each its status."""

from __future__ import annotations

from typing import Any


class SunapError(Exception):
    """A refusal the caller is answered with, whichever door it came through: a stable `code`,
    part of the public contract (docs/api.md, Errors), and a message for a person. `extra` holds
    fields an answer adds beside them (e.g. the subscription). The whole tree is drawn in
    sunap.application.errors."""

    code = "ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.extra: dict[str, Any] = {}


class DomainError(SunapError):
    """A business rule of the domain said no."""

    code = "DOMAIN_ERROR"


class InvalidRequest(DomainError):
    code = "INVALID_REQUEST"


class PaymentNotFound(DomainError):
    code = "PAYMENT_NOT_FOUND"

    def __init__(self, message: str = "No such payment.") -> None:
        super().__init__(message)


class DuplicateOrderId(DomainError):
    code = "DUPLICATE_ORDER_ID"


class PaymentIdTaken(DomainError):
    """A payment of this id exists already: a create named after its Idempotency-Key ran twice
    at once (create_payment answers the later run with the first's payment)."""

    code = "IDEMPOTENCY_KEY_IN_USE"


class PaymentKeyTaken(DomainError):
    """Another payment already holds this paymentKey: the PG gives every payment its own."""

    code = "INVALID_PAYMENT_KEY"


class AmountMismatch(DomainError):
    code = "AMOUNT_MISMATCH"


class AlreadyProcessedPayment(DomainError):
    code = "ALREADY_PROCESSED_PAYMENT"


class ConfirmInProgress(DomainError):
    code = "CONFIRM_IN_PROGRESS"


class NotConfirmableStatus(DomainError):
    code = "NOT_CONFIRMABLE_STATUS"


class NotCancelableStatus(DomainError):
    code = "NOT_CANCELABLE_STATUS"


class ExceedsBalance(DomainError):
    code = "EXCEEDS_BALANCE"


class BalanceChanged(DomainError):
    """The caller asked to cancel against a cancelable balance that is no longer the payment's:
    a cancel started from a stale form (the back button, a second tab) is not the person's
    intent for what the payment is now."""

    code = "BALANCE_CHANGED"


class RefundAccountRequired(DomainError):
    code = "REFUND_ACCOUNT_REQUIRED"


class PartialCancelNotAllowed(DomainError):
    code = "PARTIAL_CANCEL_NOT_ALLOWED"


class NotUnderReview(DomainError):
    """Only a payment flagged for review can have its review resolved, and only with a note."""

    code = "NOT_UNDER_REVIEW"


class IllegalTransition(DomainError):
    """A status change the transition table forbids: a bug or a stale message, never user input."""

    code = "ILLEGAL_TRANSITION"


class BillingKeyNotFound(DomainError):
    code = "BILLING_KEY_NOT_FOUND"

    def __init__(self, message: str = "No such billing key.") -> None:
        super().__init__(message)


class BillingKeyNotActive(DomainError):
    """A deleted billing key charges nothing and backs no subscription."""

    code = "BILLING_KEY_NOT_ACTIVE"


class SubscriptionNotFound(DomainError):
    code = "SUBSCRIPTION_NOT_FOUND"

    def __init__(self, message: str = "No such subscription.") -> None:
        super().__init__(message)


class SubscriptionNotChangeable(DomainError):
    """The subscription's status does not allow the change asked for (e.g. pausing a canceled
    one)."""

    code = "SUBSCRIPTION_NOT_CHANGEABLE"
