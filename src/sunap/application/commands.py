"""Commands: small frozen messages, imperative names. Validated at the edge before they exist."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sunap.domain.payment import PaymentMethod

from .ports.gateway import RefundAccount


@dataclass(frozen=True)
class CreatePayment:
    tenant_id: str
    pg_account_id: str  # the tenant's account: its own, or the service's default
    order_name: str
    amount: int
    currency: str = "KRW"
    order_id: str | None = None
    customer_key: str | None = None
    method: PaymentMethod | None = None
    success_url: str | None = None
    fail_url: str | None = None
    metadata: dict[str, Any] | None = None
    # The caller's request, when it sent an Idempotency-Key (IdempotentCall.request_key): the
    # same request again is answered by the payment it made, never by a second one.
    request_key: str | None = None


@dataclass(frozen=True)
class ConfirmPayment:
    tenant_id: str
    payment_key: str
    order_id: str
    amount: int


@dataclass(frozen=True)
class CancelPayment:
    tenant_id: str
    payment_id: str
    reason: str
    amount: int | None = None
    tax_free_amount: int | None = None
    refund_account: RefundAccount | None = None
    # The cancelable balance the caller saw when it chose this cancel (the dashboard's form);
    # refused with BalanceChanged if the payment's is another by now. None: not checked.
    expected_cancelable: int | None = None
    # The caller's request, when it sent an Idempotency-Key (IdempotentCall.request_key): the
    # same request again is answered by its own cancel, never by a second one.
    request_key: str | None = None


@dataclass(frozen=True)
class ResolveReview:
    tenant_id: str
    payment_id: str
    note: str  # how the person settled it; kept in the audit trail
    resolved_by: str  # who: the id of the API key the dashboard session was opened with
