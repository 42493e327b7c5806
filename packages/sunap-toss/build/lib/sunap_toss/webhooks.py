"""Toss's webhook bodies as typed events (https://docs.tosspayments.com/reference/using-api/webhook-events).

    event = parse_webhook(request_body)
    if isinstance(event, CancelStatusChanged) and event.cancel.cancel_status == "DONE": ...

`CANCEL_STATUS_CHANGED` settles a cancel Toss answered as `IN_PROGRESS` (foreign easy pay, e.g.
PayPal): until it comes, that money has not been refunded. A `DEPOSIT_CALLBACK` is flat (no
`eventType`, no `data`) and carries the payment's `secret`: compare it with the one the virtual
account was issued with before believing it. An event type this module does not know is an
`OtherEvent`, never an error: Toss adds event types without a version bump.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .models import Cancel, Payment, WireError, parse_cancel, parse_payment

PAYMENT_STATUS_CHANGED = "PAYMENT_STATUS_CHANGED"
DEPOSIT_CALLBACK = "DEPOSIT_CALLBACK"
CANCEL_STATUS_CHANGED = "CANCEL_STATUS_CHANGED"
BILLING_DELETED = "BILLING_DELETED"


@dataclass(frozen=True)
class PaymentStatusChanged:
    created_at: str | None
    payment: Payment


@dataclass(frozen=True)
class DepositCallback:
    created_at: str | None
    status: str
    order_id: str
    transaction_key: str | None
    secret: str = field(repr=False)


@dataclass(frozen=True)
class CancelStatusChanged:
    created_at: str | None
    cancel: Cancel
    payment_key: str | None  # when Toss names it in the cancel object


@dataclass(frozen=True)
class BillingDeleted:
    created_at: str | None
    billing_key: str = field(repr=False)
    reason: str | None = None


@dataclass(frozen=True)
class OtherEvent:
    event_type: str
    created_at: str | None
    data: Any = field(repr=False)


WebhookEvent = (
    PaymentStatusChanged | DepositCallback | CancelStatusChanged | BillingDeleted | OtherEvent
)


def parse_webhook(body: bytes | str | Mapping[str, Any]) -> WebhookEvent:
    """The event in a webhook body; WireError when it is not a webhook we can read."""
    if isinstance(body, bytes | str):
        try:
            body = json.loads(body, parse_float=Decimal)
        except ValueError as exc:
            raise WireError(f"the webhook body is not JSON: {exc}") from exc
    if not isinstance(body, Mapping):
        raise WireError("the webhook body is not an object")
    created_at = _text(body.get("createdAt"))
    event_type = body.get("eventType")
    if event_type is None and "secret" in body:  # DEPOSIT_CALLBACK has no envelope
        return DepositCallback(
            created_at=created_at,
            status=_required(body, "status"),
            order_id=_required(body, "orderId"),
            transaction_key=_text(body.get("transactionKey")),
            secret=_required(body, "secret"),
        )
    if not isinstance(event_type, str) or not event_type:
        raise WireError("the webhook has no eventType")
    data = body.get("data")
    if event_type == PAYMENT_STATUS_CHANGED:
        return PaymentStatusChanged(created_at, parse_payment(data))
    if event_type == CANCEL_STATUS_CHANGED:
        cancel = parse_cancel(data)
        assert isinstance(data, Mapping)  # parse_cancel refused anything else
        return CancelStatusChanged(created_at, cancel, _text(data.get("paymentKey")))
    if event_type == BILLING_DELETED and isinstance(data, Mapping):
        return BillingDeleted(created_at, _required(data, "billingKey"), _text(data.get("reason")))
    return OtherEvent(event_type, created_at, data)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _required(body: Mapping[str, Any], name: str) -> str:
    value = _text(body.get(name))
    if value is None:
        raise WireError(f"{name} is missing")
    return value
