"""The API's resources as typed, frozen dataclasses. Each keeps the JSON it was read from in `raw`:
Sunap may add fields (docs/api.md, "Payments"), and a newer field is readable there before this
client names it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

PaymentStatus = Literal[
    "READY",
    "IN_PROGRESS",
    "WAITING_FOR_DEPOSIT",
    "DONE",
    "PARTIAL_CANCELED",
    "CANCELED",
    "ABORTED",
    "EXPIRED",
]
PaymentMethod = Literal[
    "CARD", "VIRTUAL_ACCOUNT", "TRANSFER", "MOBILE_PHONE", "EASY_PAY", "GIFT_CERTIFICATE"
]
BillingKeyStatus = Literal["ACTIVE", "DELETED"]
SubscriptionStatus = Literal[
    "INCOMPLETE", "TRIALING", "ACTIVE", "PAST_DUE", "PAUSED", "CANCELED", "UNPAID"
]
Interval = Literal["day", "week", "month", "year"]


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True)
class Card:
    company: str | None
    number: str | None  # masked, as Toss masks it
    card_type: str | None
    owner_type: str | None
    installment_plan_months: int | None
    approve_no: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Card:
        return cls(
            company=data.get("company"),
            number=data.get("number"),
            card_type=data.get("cardType"),
            owner_type=data.get("ownerType"),
            installment_plan_months=data.get("installmentPlanMonths"),
            approve_no=data.get("approveNo"),
        )


@dataclass(frozen=True)
class VirtualAccount:
    bank: str | None
    account_number: str | None
    customer_name: str | None
    due_date: datetime | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VirtualAccount:
        return cls(
            bank=data.get("bank"),
            account_number=data.get("accountNumber"),
            customer_name=data.get("customerName"),
            due_date=_time(data.get("dueDate")),
        )


@dataclass(frozen=True)
class Cancel:
    cancel_amount: int
    cancel_reason: str
    canceled_at: datetime | None
    transaction_key: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Cancel:
        return cls(
            cancel_amount=int(data["cancelAmount"]),
            cancel_reason=str(data.get("cancelReason") or ""),
            canceled_at=_time(data.get("canceledAt")),
            transaction_key=data.get("transactionKey"),
        )


@dataclass(frozen=True)
class Failure:
    code: str
    message: str


@dataclass(frozen=True)
class Checkout:
    """Sunap's hosted payment page for a READY payment: redirect the customer to `url`."""

    url: str
    client_key: str | None
    customer_key: str | None
    success_url: str | None
    fail_url: str | None


@dataclass(frozen=True)
class Payment:
    id: str
    order_id: str
    order_name: str
    status: PaymentStatus
    amount: int
    balance_amount: int
    currency: str
    method: PaymentMethod | None
    payment_key: str | None
    customer_key: str | None
    metadata: Mapping[str, Any] | None
    requested_at: datetime | None
    approved_at: datetime | None
    created_at: datetime | None
    updated_at: datetime | None
    card: Card | None
    virtual_account: VirtualAccount | None
    cancels: tuple[Cancel, ...]
    failure: Failure | None
    receipt_url: str | None
    checkout: Checkout | None
    billing_key_id: str | None  # set on a billing key's charge
    subscription_id: str | None  # set on a subscription's charge
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Payment:
        card, account = data.get("card"), data.get("virtualAccount")
        failure, checkout = data.get("failure"), data.get("checkout")
        return cls(
            id=str(data["id"]),
            order_id=str(data["orderId"]),
            order_name=str(data.get("orderName") or ""),
            status=data["status"],
            amount=int(data["amount"]),
            balance_amount=int(data.get("balanceAmount") or 0),
            currency=str(data.get("currency") or "KRW"),
            method=data.get("method"),
            payment_key=data.get("paymentKey"),
            customer_key=data.get("customerKey"),
            metadata=data.get("metadata"),
            requested_at=_time(data.get("requestedAt")),
            approved_at=_time(data.get("approvedAt")),
            created_at=_time(data.get("createdAt")),
            updated_at=_time(data.get("updatedAt")),
            card=Card.from_json(card) if isinstance(card, Mapping) else None,
            virtual_account=(
                VirtualAccount.from_json(account) if isinstance(account, Mapping) else None
            ),
            cancels=tuple(Cancel.from_json(c) for c in data.get("cancels") or ()),
            failure=(
                Failure(str(failure.get("code")), str(failure.get("message")))
                if isinstance(failure, Mapping)
                else None
            ),
            receipt_url=data.get("receiptUrl"),
            checkout=(
                Checkout(
                    url=str(checkout["url"]),
                    client_key=checkout.get("clientKey"),
                    customer_key=checkout.get("customerKey"),
                    success_url=checkout.get("successUrl"),
                    fail_url=checkout.get("failUrl"),
                )
                if isinstance(checkout, Mapping) and checkout.get("url")
                else None
            ),
            billing_key_id=data.get("billingKeyId"),
            subscription_id=data.get("subscriptionId"),
            raw=data,
        )


@dataclass(frozen=True)
class PaymentPage:
    """One page of a listing, newest first; `next_cursor` is None on the last page."""

    items: tuple[Payment, ...]
    next_cursor: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PaymentPage:
        return cls(
            items=tuple(Payment.from_json(p) for p in data.get("items") or ()),
            next_cursor=data.get("nextCursor"),
        )


@dataclass(frozen=True)
class Transaction:
    """One entry of a payment's audit trail: a call to Toss or a webhook, secrets redacted."""

    id: str
    type: str
    status: str | None
    request_data: Mapping[str, Any]
    response_data: Mapping[str, Any]
    processing_time_ms: int | None
    created_at: datetime | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Transaction:
        return cls(
            id=str(data["id"]),
            type=str(data["type"]),
            status=None if data.get("status") is None else str(data["status"]),
            request_data=_map(data.get("requestData")),
            response_data=_map(data.get("responseData")),
            processing_time_ms=data.get("processingTimeMs"),
            created_at=_time(data.get("createdAt")),
        )


@dataclass(frozen=True)
class RefundAccount:
    """Where a paid virtual-account payment's refund goes (cancel needs it)."""

    bank: str
    account_number: str = field(repr=False)  # a customer's account: never in a log line
    holder_name: str

    def to_json(self) -> dict[str, str]:
        return {
            "bank": self.bank,
            "accountNumber": self.account_number,
            "holderName": self.holder_name,
        }


@dataclass(frozen=True)
class BillingCard:
    """The card behind a billing key, as Toss describes it: the number masked."""

    company: str | None
    number: str | None
    card_type: str | None
    owner_type: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BillingCard:
        return cls(
            company=data.get("company"),
            number=data.get("number"),
            card_type=data.get("cardType"),
            owner_type=data.get("ownerType"),
        )


@dataclass(frozen=True)
class BillingKey:
    """A customer's registered card, by Sunap's id (`bk_…`). Toss's own billing key, the credential
    that charges the card, stays sealed inside Sunap: it is in no answer, so not here either."""

    id: str
    customer_key: str
    method: str
    status: BillingKeyStatus
    card: BillingCard | None
    created_at: datetime | None
    deleted_at: datetime | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BillingKey:
        card = data.get("card")
        return cls(
            id=str(data["id"]),
            customer_key=str(data["customerKey"]),
            method=str(data.get("method") or "CARD"),
            status=data["status"],
            card=BillingCard.from_json(card) if isinstance(card, Mapping) else None,
            created_at=_time(data.get("createdAt")),
            deleted_at=_time(data.get("deletedAt")),
            raw=data,
        )


@dataclass(frozen=True)
class BillingKeyPage:
    """One page of billing keys, newest first; `next_cursor` is None on the last page."""

    items: tuple[BillingKey, ...]
    next_cursor: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BillingKeyPage:
        return cls(
            items=tuple(BillingKey.from_json(k) for k in data.get("items") or ()),
            next_cursor=data.get("nextCursor"),
        )


@dataclass(frozen=True)
class Subscription:
    """A plan charged to a billing key every `interval_count` `interval`s (docs/billing.md)."""

    id: str
    customer_key: str
    billing_key_id: str
    plan: str
    order_name: str
    amount: int
    currency: str
    interval: Interval
    interval_count: int
    status: SubscriptionStatus
    current_period_start: datetime | None
    current_period_end: datetime | None
    next_charge_at: datetime | None  # None while paused or ended
    trial_end: datetime | None
    cancel_at_period_end: bool
    canceled_at: datetime | None
    cancel_reason: str | None
    failed_attempts: int
    latest_payment_id: str | None
    metadata: Mapping[str, Any] | None
    created_at: datetime | None
    updated_at: datetime | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Subscription:
        return cls(
            id=str(data["id"]),
            customer_key=str(data["customerKey"]),
            billing_key_id=str(data["billingKeyId"]),
            plan=str(data.get("plan") or ""),
            order_name=str(data.get("orderName") or ""),
            amount=int(data["amount"]),
            currency=str(data.get("currency") or "KRW"),
            interval=data["interval"],
            interval_count=int(data.get("intervalCount") or 1),
            status=data["status"],
            current_period_start=_time(data.get("currentPeriodStart")),
            current_period_end=_time(data.get("currentPeriodEnd")),
            next_charge_at=_time(data.get("nextChargeAt")),
            trial_end=_time(data.get("trialEnd")),
            cancel_at_period_end=bool(data.get("cancelAtPeriodEnd")),
            canceled_at=_time(data.get("canceledAt")),
            cancel_reason=data.get("cancelReason"),
            failed_attempts=int(data.get("failedAttempts") or 0),
            latest_payment_id=data.get("latestPaymentId"),
            metadata=data.get("metadata"),
            created_at=_time(data.get("createdAt")),
            updated_at=_time(data.get("updatedAt")),
            raw=data,
        )


@dataclass(frozen=True)
class SubscriptionPage:
    """One page of subscriptions, newest first; `next_cursor` is None on the last page."""

    items: tuple[Subscription, ...]
    next_cursor: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SubscriptionPage:
        return cls(
            items=tuple(Subscription.from_json(s) for s in data.get("items") or ()),
            next_cursor=data.get("nextCursor"),
        )
