"""The payment-gateway port: what a use case may ask of a PG, and how a PG call can end.

Every answer is classified by the adapter into exactly one of: a result, GatewayDeclined (a
definitive refusal), GatewayUnknown (we do not know what happened: never treat it as failure),
GatewayAlreadyProcessed (an earlier attempt went through: look it up), GatewayNotFound, or
GatewayMisconfigured (our key or request is wrong: alert, touch no money).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sunap.domain.payment import (
    CardDetails,
    EasyPayDetails,
    Failure,
    PaymentMethod,
    PaymentStatus,
    VirtualAccountDetails,
)


class PgOperation(enum.StrEnum):
    """A call to the PG, as metrics and the audit trail (`pg.<value>`) name it.

    Every operation the Toss client can make has its member, whether or not the port uses it
    yet, so the adapter can name whatever it reports (a test holds the two lists together).
    """

    CONFIRM = "confirm"
    LOOKUP = "lookup"
    CANCEL = "cancel"
    BILLING_ISSUE = "billing.issue"
    BILLING_CHARGE = "billing.charge"
    BILLING_DELETE = "billing.delete"
    KEY_IN = "key_in"
    VIRTUAL_ACCOUNT = "virtual_account"
    TRANSACTIONS = "transactions"
    SETTLEMENTS = "settlements"
    CASH_RECEIPT = "cash_receipt"
    # Not a call of its own: names the reconciler's calls in the audit trail when the adapter
    # gave no exchange to name them by.
    RECONCILE = "reconcile"


class PgOutcome(enum.StrEnum):
    """How one PG call ended; one per GatewayError class (the module docstring), and OK."""

    OK = "ok"
    DECLINED = "declined"
    UNKNOWN = "unknown"
    ALREADY_PROCESSED = "already_processed"
    NOT_FOUND = "not_found"
    MISCONFIGURED = "misconfigured"


@dataclass(frozen=True)
class GatewayExchange:
    """One call to the PG as the audit trail keeps it: secrets already redacted."""

    operation: PgOperation
    method: str
    path: str
    request_data: dict[str, Any] | None
    response_data: dict[str, Any] | None
    status_code: int | None  # None when no answer came back
    processing_time_ms: int
    outcome: PgOutcome
    trace_id: str | None = None  # the PG's own id for the answer (Toss: X-TossPayments-Trace-Id)
    # The Idempotency-Key the call went out under (None: a read, which carries none): how the
    # PG's records know it, and what ties a replay to the call it repeats.
    idempotency_key: str | None = None
    # The attempts the call made before this one (the same request sent again), oldest first.
    earlier: tuple[GatewayExchange, ...] = ()


@dataclass(frozen=True)
class GatewayCancel:
    amount: int
    reason: str | None
    canceled_at: datetime | None
    transaction_key: str | None


@dataclass(frozen=True)
class GatewayPayment:
    """A payment as the PG sees it, in our vocabulary."""

    payment_key: str
    order_id: str
    status: PaymentStatus
    total_amount: int
    balance_amount: int
    currency: str
    method: PaymentMethod | None
    approved_at: datetime | None
    requested_at: datetime | None = None
    card: CardDetails | None = None
    virtual_account: VirtualAccountDetails | None = None
    easy_pay: EasyPayDetails | None = None
    receipt_url: str | None = None
    failure: Failure | None = None
    cancels: tuple[GatewayCancel, ...] = ()
    last_transaction_key: str | None = None
    account_expired: bool = False  # a virtual account whose due date passed with no deposit
    deposit_secret: str | None = (
        None  # Toss's `secret` for virtual accounts; hash it, never keep it
    )
    exchange: GatewayExchange | None = field(default=None, compare=False)

    @property
    def trace_id(self) -> str | None:
        return self.exchange.trace_id if self.exchange is not None else None


@dataclass(frozen=True)
class BillingAuthorization:
    billing_key: str = field(repr=False)
    customer_key: str
    card: CardDetails | None
    authenticated_at: datetime | None
    exchange: GatewayExchange | None = field(default=None, compare=False)

    @property
    def trace_id(self) -> str | None:
        return self.exchange.trace_id if self.exchange is not None else None


@dataclass(frozen=True)
class RefundAccount:
    bank: str
    account_number: str
    holder_name: str


# How long after a call its Idempotency-Key may be sent again safely: the PG keeps a key for a
# while (Toss: 15 days), then runs it as new. A day short of that, for the clocks' sake.
PG_KEY_RETENTION = timedelta(days=14)


class GatewayError(Exception):
    def __init__(self, code: str, message: str, *, exchange: GatewayExchange | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.exchange = exchange

    @property
    def trace_id(self) -> str | None:
        """The PG's id for the call that failed, when it answered at all."""
        return self.exchange.trace_id if self.exchange is not None else None


class GatewayDeclined(GatewayError):
    """The PG definitively refused: the payment may be marked failed."""


class GatewayUnknown(GatewayError):
    """No usable answer (timeout, dropped connection, 5xx, unlisted code): outcome unknown."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        timed_out: bool = False,
        exchange: GatewayExchange | None = None,
        nothing_sent: bool = False,
    ) -> None:
        super().__init__(code, message, exchange=exchange)
        self.timed_out = timed_out
        # The call never left this process (an open circuit breaker): the PG was not asked.
        self.nothing_sent = nothing_sent


def never_sent(error: GatewayError | None) -> bool:
    """The call never left this process (refused by its open circuit breaker): the PG was not
    asked, so a check that ended so is not one of a payment's attempts."""
    return isinstance(error, GatewayUnknown) and error.nothing_sent


class GatewayAlreadyProcessed(GatewayError):
    """An earlier attempt of this operation went through; look the payment up."""


class GatewayNotFound(GatewayError):
    """The PG does not know the payment."""


class GatewayMisconfigured(GatewayError):
    """Our credentials or request are wrong (UNAUTHORIZED_KEY, INVALID_API_KEY...): alert.

    `refused_request`: the PG took our credentials and refused what the request asked (Toss's
    INVALID_REQUEST): it carried nothing out. False for credentials it did not take, which a
    fixed key may turn into success later."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        exchange: GatewayExchange | None = None,
        refused_request: bool = False,
    ) -> None:
        super().__init__(code, message, exchange=exchange)
        self.refused_request = refused_request


class PaymentGateway(Protocol):
    @property
    def key_id(self) -> str:
        """Names the secret key the calls go under (a digest, never the key). The PG keeps an
        Idempotency-Key per secret key: a request sent again under another key (the account's
        key was replaced) is a new request to it, so one is only sent again under its own."""
        ...

    def accepts_new_operations(self) -> bool:
        """False while the PG is known to be down (an open circuit breaker): refuse new confirms
        and cancels before claiming anything, so no payment is left in doubt for nothing."""
        ...

    async def confirm(
        self, *, payment_key: str, order_id: str, amount: int, idempotency_key: str
    ) -> GatewayPayment: ...

    async def lookup_by_order_id(self, order_id: str) -> GatewayPayment: ...

    async def lookup_by_payment_key(self, payment_key: str) -> GatewayPayment: ...

    async def cancel(
        self,
        *,
        payment_key: str,
        reason: str,
        amount: int | None,
        idempotency_key: str,
        refund_account: RefundAccount | None = None,
        tax_free_amount: int | None = None,
    ) -> GatewayPayment: ...

    async def issue_billing_key(
        self, *, auth_key: str, customer_key: str, idempotency_key: str
    ) -> BillingAuthorization: ...

    async def charge_billing_key(
        self,
        *,
        billing_key: str,
        customer_key: str,
        order_id: str,
        order_name: str,
        amount: int,
        idempotency_key: str,
        tax_free_amount: int = 0,
    ) -> GatewayPayment: ...

    async def delete_billing_key(self, billing_key: str) -> None: ...
