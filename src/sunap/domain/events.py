"""What happened to a payment, a billing key or a subscription, past tense. Each maps to one public
event type (docs/api.md, Events)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from .aggregate import DomainEvent


@dataclass(frozen=True)
class PaymentEvent(DomainEvent):
    type: ClassVar[str]
    payment_id: str
    sequence: int  # rises by one with every event of one payment
    # The money the event is about, in the smallest unit: the payment's amount when it is created,
    # approved, refused, expires or needs review; what a cancel gave back (0 for an order canceled
    # unpaid).
    amount: int = field(default=0, compare=False)

    @property
    def subject(self) -> str:
        return self.payment_id

    @property
    def position(self) -> int:
        return self.sequence


@dataclass(frozen=True)
class PaymentCreated(PaymentEvent):
    type: ClassVar[str] = "payment.created"


@dataclass(frozen=True)
class PaymentCompleted(PaymentEvent):
    type: ClassVar[str] = "payment.completed"


@dataclass(frozen=True)
class PaymentFailed(PaymentEvent):
    type: ClassVar[str] = "payment.failed"


@dataclass(frozen=True)
class PaymentCanceled(PaymentEvent):
    type: ClassVar[str] = "payment.canceled"


@dataclass(frozen=True)
class PaymentPartiallyCanceled(PaymentEvent):
    type: ClassVar[str] = "payment.partially_canceled"


@dataclass(frozen=True)
class PaymentWaitingForDeposit(PaymentEvent):
    type: ClassVar[str] = "payment.waiting_for_deposit"


@dataclass(frozen=True)
class PaymentExpired(PaymentEvent):
    type: ClassVar[str] = "payment.expired"


@dataclass(frozen=True)
class PaymentReviewRequired(PaymentEvent):
    """A payment consumers were told was paid needs a person: its money went back (a virtual
    account's deposit Toss took back). Its status stays; `needsReview` says why."""

    type: ClassVar[str] = "payment.review_required"


EVENT_TYPES: tuple[type[PaymentEvent], ...] = (
    PaymentCreated,
    PaymentCompleted,
    PaymentFailed,
    PaymentCanceled,
    PaymentPartiallyCanceled,
    PaymentWaitingForDeposit,
    PaymentExpired,
    PaymentReviewRequired,
)


@dataclass(frozen=True)
class BillingKeyEvent(DomainEvent):
    type: ClassVar[str]
    billing_key_id: str
    sequence: int

    @property
    def subject(self) -> str:
        return self.billing_key_id

    @property
    def position(self) -> int:
        return self.sequence


@dataclass(frozen=True)
class BillingKeyIssued(BillingKeyEvent):
    type: ClassVar[str] = "billing_key.issued"


@dataclass(frozen=True)
class BillingKeyDeleted(BillingKeyEvent):
    type: ClassVar[str] = "billing_key.deleted"


@dataclass(frozen=True)
class SubscriptionEvent(DomainEvent):
    type: ClassVar[str]
    subscription_id: str
    sequence: int

    @property
    def subject(self) -> str:
        return self.subscription_id

    @property
    def position(self) -> int:
        return self.sequence


@dataclass(frozen=True)
class SubscriptionCreated(SubscriptionEvent):
    type: ClassVar[str] = "subscription.created"


@dataclass(frozen=True)
class SubscriptionRenewed(SubscriptionEvent):
    type: ClassVar[str] = "subscription.renewed"


@dataclass(frozen=True)
class SubscriptionPaymentFailed(SubscriptionEvent):
    type: ClassVar[str] = "subscription.payment_failed"


@dataclass(frozen=True)
class SubscriptionPastDue(SubscriptionEvent):
    type: ClassVar[str] = "subscription.past_due"


@dataclass(frozen=True)
class SubscriptionCanceled(SubscriptionEvent):
    type: ClassVar[str] = "subscription.canceled"


@dataclass(frozen=True)
class SubscriptionPaused(SubscriptionEvent):
    type: ClassVar[str] = "subscription.paused"


@dataclass(frozen=True)
class SubscriptionResumed(SubscriptionEvent):
    type: ClassVar[str] = "subscription.resumed"


@dataclass(frozen=True)
class SubscriptionUpdated(SubscriptionEvent):
    type: ClassVar[str] = "subscription.updated"
