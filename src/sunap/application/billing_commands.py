"""Commands of the billing use cases: small frozen dataclasses, validated at the edge."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sunap.domain.periods import Interval


@dataclass(frozen=True)
class IssueBillingKey:
    tenant_id: str
    pg_account_id: str
    auth_key: str
    customer_key: str


@dataclass(frozen=True)
class ChargeBillingKey:
    tenant_id: str
    billing_key_id: str
    order_name: str
    amount: int
    order_id: str | None = None
    metadata: dict[str, str] | None = None
    tax_free_amount: int = 0  # of `amount`, the part free of VAT
    # The caller's request under its Idempotency-Key (IdempotentCall.request_key): the same
    # request again, after a crash let the key go, finds its charge instead of making another.
    request_key: str | None = None


@dataclass(frozen=True)
class CreateSubscription:
    tenant_id: str
    customer_key: str
    billing_key_id: str
    plan: str
    order_name: str
    amount: int
    interval: Interval
    interval_count: int = 1
    trial_days: int = 0
    metadata: dict[str, Any] | None = None
    request_key: str | None = None  # as ChargeBillingKey's: names the subscription


@dataclass(frozen=True)
class ChangeSubscription:
    tenant_id: str
    subscription_id: str
    plan: str | None = None
    amount: int | None = None
    order_name: str | None = None
    billing_key_id: str | None = None
    metadata: dict[str, Any] | None = None


@dataclass(frozen=True)
class CancelSubscription:
    tenant_id: str
    subscription_id: str
    reason: str | None = None
    at_period_end: bool = True
