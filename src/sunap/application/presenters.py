"""The public shapes of our objects (docs/api.md, Payments), as plain dicts: for HTTP answers and events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sunap.domain.aggregate import Aggregate
from sunap.domain.billing_key import BillingKey
from sunap.domain.payment import CancelStatus, Payment
from sunap.domain.subscription import Subscription

from .ports.audit import AuditEntry


def rfc3339(moment: datetime | None) -> str | None:
    """Every time we answer with, in UTC: Toss's answers come in KST and what we read back from
    the database in UTC, and one moment must not read two ways in two answers."""
    return None if moment is None else moment.astimezone(UTC).isoformat(timespec="milliseconds")


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
        "billingKeyId": payment.billing_key_id,
        "subscriptionId": payment.subscription_id,
    }


def billing_key_resource(key: BillingKey) -> dict[str, Any]:
    """The billing key as merchants see it: never the PG's key, sealed or digested."""
    card = key.card
    return {
        "id": key.id,
        "customerKey": key.customer_key,
        "method": key.method,
        "card": None
        if card is None
        else {
            "company": card.company,
            "number": card.number,
            "cardType": card.card_type,
            "ownerType": card.owner_type,
        },
        "status": key.status.value,
        "createdAt": rfc3339(key.created_at),
        "deletedAt": rfc3339(key.deleted_at),
    }


def subscription_resource(sub: Subscription) -> dict[str, Any]:
    return {
        "id": sub.id,
        "customerKey": sub.customer_key,
        "billingKeyId": sub.billing_key_id,
        "plan": sub.plan,
        "orderName": sub.order_name,
        "amount": sub.amount,
        "currency": sub.currency,
        "interval": sub.interval.value,
        "intervalCount": sub.interval_count,
        "status": sub.status.value,
        "currentPeriodStart": rfc3339(sub.current_period_start),
        "currentPeriodEnd": rfc3339(sub.current_period_end),
        "nextChargeAt": rfc3339(sub.next_charge_at),
        "trialEnd": rfc3339(sub.trial_end),
        "cancelAtPeriodEnd": sub.cancel_at_period_end,
        "canceledAt": rfc3339(sub.canceled_at),
        "cancelReason": sub.cancel_reason,
        "failedAttempts": sub.failed_attempts,
        "latestPaymentId": sub.latest_payment_id,
        "metadata": sub.metadata,
        "createdAt": rfc3339(sub.created_at),
        "updatedAt": rfc3339(sub.updated_at),
    }


def aggregate_resource(aggregate: Aggregate) -> dict[str, Any]:
    """Any aggregate's public shape: what an event about it carries as `data`."""
    match aggregate:
        case Payment():
            return payment_resource(aggregate)
        case BillingKey():
            return billing_key_resource(aggregate)
        case Subscription():
            return subscription_resource(aggregate)
    raise TypeError(f"No public shape for {type(aggregate).__name__}.")


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
