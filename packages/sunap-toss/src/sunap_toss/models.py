"""Toss's answers as small typed records.

Each record reads the fields most callers need and keeps the whole JSON object as `raw`, because
Toss adds fields without a version bump (docs/toss.md "Keys and requests"). Amounts are `int`:
the JSON is parsed with `parse_float=Decimal`, so `15000.0` is accepted as 15000 and `0.5` is
refused — never a float. A 2xx answer whose fields cannot be read raises `WireError`, which the
clients turn into `TossUnknown` (the money may have moved).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import Exchange
from .fields import WireError as WireError  # raised by the parse_* functions
from .fields import json_list as _list
from .fields import json_object as _object
from .fields import optional_str as _optional_str
from .fields import required_str as _required_str
from .fields import whole as _whole


@dataclass(frozen=True)
class Cancel:
    cancel_amount: int
    cancel_reason: str | None
    canceled_at: str | None
    transaction_key: str | None
    cancel_status: str | None  # DONE; IN_PROGRESS → DONE | ABORTED for foreign easy pay
    refundable_amount: int | None


@dataclass(frozen=True)
class Payment:
    """A Toss Payment object: `status` is Toss's word (`"DONE"`, `"CANCELED"`, …)."""

    payment_key: str
    order_id: str
    status: str
    total_amount: int
    balance_amount: int
    currency: str
    method: str | None
    order_name: str | None
    approved_at: str | None
    requested_at: str | None
    last_transaction_key: str | None
    cancels: tuple[Cancel, ...]
    raw: Mapping[str, Any] = field(repr=False, compare=False)
    exchange: Exchange | None = field(default=None, repr=False, compare=False)

    @property
    def trace_id(self) -> str | None:
        """Toss's X-TossPayments-Trace-Id for the answer this was read from."""
        return self.exchange.trace_id if self.exchange is not None else None

    @property
    def secret(self) -> str | None:
        """The virtual-account webhook check value: keep it, never log it."""
        value = self.raw.get("secret")
        return value if isinstance(value, str) else None

    @property
    def virtual_account(self) -> Mapping[str, Any] | None:
        value = self.raw.get("virtualAccount")
        return value if isinstance(value, Mapping) else None

    @property
    def card(self) -> Mapping[str, Any] | None:
        value = self.raw.get("card")
        return value if isinstance(value, Mapping) else None

    @property
    def failure(self) -> Mapping[str, Any] | None:
        value = self.raw.get("failure")
        return value if isinstance(value, Mapping) else None


@dataclass(frozen=True)
class Billing:
    """A billing authorization: `billing_key` is a credential — store it like a password."""

    billing_key: str = field(repr=False)
    customer_key: str = field(repr=False)
    method: str | None
    authenticated_at: str | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)
    exchange: Exchange | None = field(default=None, repr=False, compare=False)

    @property
    def trace_id(self) -> str | None:
        """Toss's X-TossPayments-Trace-Id for the answer this was read from."""
        return self.exchange.trace_id if self.exchange is not None else None


@dataclass(frozen=True)
class Transaction:
    transaction_key: str
    payment_key: str
    order_id: str
    method: str | None
    status: str
    amount: int
    currency: str
    transaction_at: str | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True)
class Settlement:
    payment_key: str
    order_id: str | None
    amount: int
    pay_out_amount: int | None
    sold_date: str | None
    paid_out_date: str | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True)
class CashReceipt:
    receipt_key: str
    order_id: str | None
    amount: int
    issue_status: str | None
    transaction_type: str | None  # CONFIRM or CANCEL
    receipt_url: str | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)
    exchange: Exchange | None = field(default=None, repr=False, compare=False)

    @property
    def trace_id(self) -> str | None:
        """Toss's X-TossPayments-Trace-Id for the answer this was read from."""
        return self.exchange.trace_id if self.exchange is not None else None


@dataclass(frozen=True)
class CashReceiptPage:
    receipts: tuple[CashReceipt, ...]
    has_next: bool
    last_cursor: str | None


def parse_payment(data: Any, exchange: Exchange | None = None) -> Payment:
    body = _object(data, "payment")
    return Payment(
        payment_key=_required_str(body, "paymentKey"),
        order_id=_required_str(body, "orderId"),
        status=_required_str(body, "status"),
        total_amount=_whole(body.get("totalAmount"), "totalAmount"),
        balance_amount=_whole(body.get("balanceAmount"), "balanceAmount"),
        currency=_optional_str(body, "currency") or "KRW",
        method=_optional_str(body, "method"),
        order_name=_optional_str(body, "orderName"),
        approved_at=_optional_str(body, "approvedAt"),
        requested_at=_optional_str(body, "requestedAt"),
        last_transaction_key=_optional_str(body, "lastTransactionKey"),
        cancels=tuple(parse_cancel(item) for item in _list(body.get("cancels"), "cancels")),
        raw=body,
        exchange=exchange,
    )


def parse_cancel(data: Any) -> Cancel:
    cancel = _object(data, "cancel")
    refundable = cancel.get("refundableAmount")
    return Cancel(
        cancel_amount=_whole(cancel.get("cancelAmount"), "cancelAmount"),
        cancel_reason=_optional_str(cancel, "cancelReason"),
        canceled_at=_optional_str(cancel, "canceledAt"),
        transaction_key=_optional_str(cancel, "transactionKey"),
        cancel_status=_optional_str(cancel, "cancelStatus"),
        refundable_amount=None if refundable is None else _whole(refundable, "refundableAmount"),
    )


def parse_billing(data: Any, exchange: Exchange | None = None) -> Billing:
    body = _object(data, "billing")
    return Billing(
        billing_key=_required_str(body, "billingKey"),
        customer_key=_required_str(body, "customerKey"),
        method=_optional_str(body, "method"),
        authenticated_at=_optional_str(body, "authenticatedAt"),
        raw=body,
        exchange=exchange,
    )


def parse_transactions(data: Any) -> list[Transaction]:
    return [_transaction(item) for item in _list(data, "transactions")]


def _transaction(data: Any) -> Transaction:
    body = _object(data, "transaction")
    return Transaction(
        transaction_key=_required_str(body, "transactionKey"),
        payment_key=_required_str(body, "paymentKey"),
        order_id=_required_str(body, "orderId"),
        method=_optional_str(body, "method"),
        status=_required_str(body, "status"),
        amount=_whole(body.get("amount"), "amount"),
        currency=_optional_str(body, "currency") or "KRW",
        transaction_at=_optional_str(body, "transactionAt"),
        raw=body,
    )


def parse_settlements(data: Any) -> list[Settlement]:
    return [_settlement(item) for item in _list(data, "settlements")]


def _settlement(data: Any) -> Settlement:
    body = _object(data, "settlement")
    pay_out = body.get("payOutAmount")
    return Settlement(
        payment_key=_required_str(body, "paymentKey"),
        order_id=_optional_str(body, "orderId"),
        amount=_whole(body.get("amount"), "amount"),
        pay_out_amount=None if pay_out is None else _whole(pay_out, "payOutAmount"),
        sold_date=_optional_str(body, "soldDate"),
        paid_out_date=_optional_str(body, "paidOutDate"),
        raw=body,
    )


def parse_cash_receipt(data: Any, exchange: Exchange | None = None) -> CashReceipt:
    body = _object(data, "cashReceipt")
    return CashReceipt(
        receipt_key=_required_str(body, "receiptKey"),
        order_id=_optional_str(body, "orderId"),
        amount=_whole(body.get("amount"), "amount"),
        issue_status=_optional_str(body, "issueStatus"),
        transaction_type=_optional_str(body, "transactionType"),
        receipt_url=_optional_str(body, "receiptUrl"),
        raw=body,
        exchange=exchange,
    )


def parse_cash_receipt_page(data: Any) -> CashReceiptPage:
    body = _object(data, "cash receipts")
    cursor = body.get("lastCursor")
    return CashReceiptPage(
        receipts=tuple(parse_cash_receipt(item) for item in _list(body.get("data"), "data")),
        has_next=body.get("hasNext") is True,
        last_cursor=None if cursor is None else str(cursor),
    )
