"""GET /v1/transactions: every approval and cancel in the books, as Toss's Transaction objects."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sunap_toss_sandbox import choices
from sunap_toss_sandbox.clock import toss_time
from sunap_toss_sandbox.records import PaymentRecord
from sunap_toss_sandbox.vocabulary import METHOD_NAMES


@dataclass(frozen=True)
class Transaction:
    at: datetime
    key: str
    payment: PaymentRecord
    status: str
    amount: int

    def to_json(self) -> dict[str, Any]:
        payment = self.payment
        return {
            "mId": choices.MERCHANT_ID,
            "transactionKey": self.key,
            "paymentKey": payment.payment_key,
            "orderId": payment.order_id,
            "method": METHOD_NAMES[payment.method],
            "customerKey": payment.customer_key,
            "useEscrow": False,
            "receiptUrl": (
                "https://dashboard-sandbox.tosspayments.com/receipt/redirection"
                f"?transactionId={self.key}&ref=PX"
            ),
            "status": self.status,
            "transactionAt": toss_time(self.at),
            "currency": "KRW",
            "amount": self.amount,
        }


def transactions_of(payments: Iterable[PaymentRecord]) -> list[Transaction]:
    """Approvals (DONE) and cancels (CANCELED / PARTIAL_CANCELED), oldest first."""
    found: list[Transaction] = []
    for payment in payments:
        if payment.approved_at is not None and payment.approval_transaction_key is not None:
            found.append(
                Transaction(
                    payment.approved_at,
                    payment.approval_transaction_key,
                    payment,
                    "DONE",
                    payment.total_amount,
                )
            )
        for cancel in payment.cancels:
            status = "CANCELED" if cancel.refundable_amount == 0 else "PARTIAL_CANCELED"
            found.append(
                Transaction(
                    cancel.canceled_at, cancel.transaction_key, payment, status, cancel.amount
                )
            )
    return sorted(found, key=lambda transaction: transaction.at)


def page_of(
    transactions: list[Transaction],
    start: datetime,
    end: datetime,
    starting_after: str | None,
    limit: int,
) -> list[Transaction]:
    """Those between start and end (inclusive), after the one keyed `starting_after`."""
    window = [t for t in transactions if start <= t.at <= end]
    if starting_after is not None:
        keys = [t.key for t in window]
        window = window[keys.index(starting_after) + 1 :] if starting_after in keys else []
    return window[:limit]
