"""What happened to a payment, past tense. Each maps to one public event type (docs/api.md, Events)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar


@dataclass(frozen=True)
class PaymentEvent:
    type: ClassVar[str]
    payment_id: str
    sequence: int  # rises by one with every event of one payment
    # The money the event is about, in the smallest unit: the payment's amount when it is created,
    # approved, refused or expires; what a cancel gave back (0 for an order canceled unpaid).
    amount: int = field(default=0, compare=False)


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


EVENT_TYPES: tuple[type[PaymentEvent], ...] = (
    PaymentCreated,
    PaymentCompleted,
    PaymentFailed,
    PaymentCanceled,
    PaymentPartiallyCanceled,
    PaymentWaitingForDeposit,
    PaymentExpired,
)
