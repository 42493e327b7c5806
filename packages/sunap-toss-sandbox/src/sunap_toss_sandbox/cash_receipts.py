"""Cash receipts (현금영수증) issued through the API, one book per merchant account."""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sunap_toss_sandbox import choices
from sunap_toss_sandbox.catalogue import TossError
from sunap_toss_sandbox.clock import KST, SandboxClock, toss_time

RECEIPT_TYPES = frozenset({"소득공제", "지출증빙"})


@dataclass(frozen=True)
class IssueCashReceipt:
    amount: int
    order_id: str
    order_name: str
    customer_identity_number: str
    type: str
    tax_free_amount: int = 0


@dataclass(frozen=True)
class CashReceiptRecord:
    """One row of the cash receipt history: an issue (CONFIRM) or a cancel (CANCEL)."""

    sequence: int  # the list's cursor
    receipt_key: str
    issue_number: str
    approval_number: str
    request: IssueCashReceipt
    amount: int
    transaction_type: str
    issue_status: str
    requested_at: datetime
    canceled_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "receiptKey": self.receipt_key,
            "issueNumber": self.issue_number,
            "issueStatus": self.issue_status,
            "amount": self.amount,
            "taxFreeAmount": self.request.tax_free_amount,
            "orderId": self.request.order_id,
            "orderName": self.request.order_name,
            "type": self.request.type,
            "transactionType": self.transaction_type,
            "businessNumber": choices.CASH_RECEIPT_BUSINESS_NUMBER,
            "customerIdentityNumber": self.request.customer_identity_number,
            "failure": None,
            "requestedAt": toss_time(self.requested_at),
            "approvedAt": toss_time(self.requested_at),
            "canceledAt": toss_time(self.canceled_at) if self.canceled_at else None,
            "approvalNumber": self.approval_number,
            "receiptUrl": (
                "https://dashboard-sandbox.tosspayments.com/receipt/cash-receipt"
                f"?receiptKey={self.receipt_key}"
            ),
        }


class CashReceiptBook:
    def __init__(self, clock: SandboxClock) -> None:
        self._clock = clock
        self._sequence = itertools.count(1)
        self.rows: list[CashReceiptRecord] = []

    def reset(self) -> None:
        self.rows = []

    def issue(self, request: IssueCashReceipt) -> CashReceiptRecord:
        if request.type not in RECEIPT_TYPES:
            raise TossError("INVALID_REQUEST")
        if request.tax_free_amount > request.amount:
            raise TossError("INVALID_REQUEST")
        if any(self._remaining(row.receipt_key) > 0 for row in self._issues_of(request.order_id)):
            raise TossError("DUPLICATED_CASH_RECEIPT")
        issued = CashReceiptRecord(
            sequence=next(self._sequence),
            receipt_key=secrets.token_hex(12),
            issue_number=str(secrets.randbelow(10**9)).zfill(9),
            approval_number=str(secrets.randbelow(10**9)).zfill(9),
            request=request,
            amount=request.amount,
            transaction_type="CONFIRM",
            issue_status=choices.CASH_RECEIPT_SETTLED_STATUS,
            requested_at=self._clock.now(),
        )
        self.rows.append(issued)
        return replace(issued, issue_status=choices.CASH_RECEIPT_ISSUE_STATUS)

    def cancel(self, receipt_key: str, amount: int | None) -> CashReceiptRecord:
        issued = next(
            (
                r
                for r in self.rows
                if r.receipt_key == receipt_key and r.transaction_type == "CONFIRM"
            ),
            None,
        )
        if issued is None:
            raise TossError("NOT_FOUND")
        remaining = self._remaining(receipt_key)
        if remaining == 0:
            raise TossError(choices.CASH_RECEIPT_ALREADY_CANCELED_CODE)
        cancel_amount = remaining if amount is None else amount
        if cancel_amount > remaining:
            raise TossError("INVALID_REQUEST")
        now = self._clock.now()
        canceled = replace(
            issued,
            sequence=next(self._sequence),
            amount=cancel_amount,
            transaction_type="CANCEL",
            issue_status=choices.CASH_RECEIPT_SETTLED_STATUS,
            requested_at=now,
            canceled_at=now,
        )
        self.rows.append(canceled)
        return canceled

    def listed(
        self, requested_on: date, cursor: int | None, limit: int
    ) -> tuple[list[CashReceiptRecord], bool]:
        """The rows requested on a (Korean) day after the cursor, and whether more follow."""
        rows = [
            row
            for row in self.rows
            if row.requested_at.astimezone(KST).date() == requested_on
            and (cursor is None or row.sequence > cursor)
        ]
        return rows[:limit], len(rows) > limit

    def _issues_of(self, order_id: str) -> list[CashReceiptRecord]:
        return [
            row
            for row in self.rows
            if row.request.order_id == order_id and row.transaction_type == "CONFIRM"
        ]

    def _remaining(self, receipt_key: str) -> int:
        total = 0
        for row in self.rows:
            if row.receipt_key == receipt_key:
                total += row.amount if row.transaction_type == "CONFIRM" else -row.amount
        return total
