"""The public shapes of our objects (docs/api.md, Payments), as plain dicts: for HTTP answers and events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sunap.domain.payment import CancelStatus, Payment

from .ports import AuditEntry


def rfc3339(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="milliseconds")


def payment_resource(payment: Payment, *, checkout_url: str | None = None) -> dict[str, Any]:
    """The payment as merchants see it. Never the VA secret, never anything unmasked."""
    card = payment.card
    va = payment.virtual_account
    easy = payment.easy_pay
    return {
        "id": payment.id,
        "orderId": payment.order_id,
        "orderName": payment.order_name,
        "status": payment.status.value,
        "amount": payment.amount,
        "balanceAmount": payment.balance_amount,
        "currency": payment.currency,
        "method": payment.method.value if payment.method else None,
        "paymentKey": payment.payment_key,
        "customerKey": payment.customer_key,
        "metadata": payment.metadata,
        "requestedAt": rfc3339(payment.requested_at),
        "approvedAt": rfc3339(payment.approved_at),
        "createdAt": rfc3339(payment.created_at),
        "updatedAt": rfc3339(payment.updated_at),
        "card": None
        if card is None
        else {
            "company": card.company,
            "number": card.number,
            "cardType": card.card_type,
            "ownerType": card.owner_type,
            "installmentPlanMonths": card.installment_plan_months,
            "approveNo": card.approve_no,
        },
        "virtualAccount": None
        if va is None
        else {
            "bank": va.bank,
            "accountNumber": va.account_number,
            "customerName": va.customer_name,
            "dueDate": va.due_date,
        },
        "easyPay": None
        if easy is None
        else {
            "provider": easy.provider,
            "amount": easy.amount,
            "discountAmount": easy.discount_amount,
        },
        "cancels": [
            {
                "cancelAmount": c.amount,
                "cancelReason": c.reason,
                "canceledAt": rfc3339(c.canceled_at),
                "transactionKey": c.transaction_key,
            }
            for c in payment.cancels
            if c.status is CancelStatus.DONE
        ],
        "failure": None
        if payment.failure is None
        else {"code": payment.failure.code, "message": payment.failure.message},
        "receiptUrl": payment.receipt_url,
        "checkout": {
            "url": checkout_url,
            "successUrl": payment.success_url,
            "failUrl": payment.fail_url,
            "customerKey": payment.customer_key,
        }
        if checkout_url or payment.success_url or payment.fail_url
        else None,
        "needsReview": payment.needs_review,
        "reviewReason": payment.review_reason,
        "pendingCancelAmount": payment.pending_cancel_amount,
    }


def audit_entry_resource(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "type": entry.type,
        "status": entry.status,
        "requestData": entry.request_data,
        "responseData": entry.response_data,
        "processingTimeMs": entry.processing_time_ms,
        "createdAt": rfc3339(entry.created_at),
    }
