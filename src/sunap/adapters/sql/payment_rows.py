"""Payment and Cancel <-> table rows, field by field. The domain classes know nothing of this."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sunap.domain.payment import (
    Cancel,
    CancelStatus,
    CardDetails,
    EasyPayDetails,
    Failure,
    Payment,
    PaymentMethod,
    PaymentStatus,
    VirtualAccountDetails,
)

Row = dict[str, Any]


def payment_to_row(payment: Payment) -> Row:
    """Every column of `payments` except `version`, which the repository owns."""
    card, va, easy, failure = (
        payment.card,
        payment.virtual_account,
        payment.easy_pay,
        payment.failure,
    )
    return {
        "id": payment.id,
        "tenant_id": payment.tenant_id,
        "pg_account_id": payment.pg_account_id,
        "order_id": payment.order_id,
        "order_name": payment.order_name,
        "amount": payment.amount,
        "currency": payment.currency,
        "status": payment.status.value,
        "balance_amount": payment.balance_amount,
        "pending_cancel_amount": payment.pending_cancel_amount,
        "tax_free_amount": payment.tax_free_amount,
        "created_at": payment.created_at,
        "updated_at": payment.updated_at,
        "method": payment.method.value if payment.method else None,
        "customer_key": payment.customer_key,
        "metadata": payment.metadata,
        "success_url": payment.success_url,
        "fail_url": payment.fail_url,
        "payment_key": payment.payment_key,
        "requested_at": payment.requested_at,
        "approved_at": payment.approved_at,
        "card_company": card.company if card else None,
        "card_number": card.number if card else None,
        "card_type": card.card_type if card else None,
        "card_owner_type": card.owner_type if card else None,
        "card_installment_plan_months": card.installment_plan_months if card else None,
        "card_approve_no": card.approve_no if card else None,
        "va_bank": va.bank if va else None,
        "va_account_number": va.account_number if va else None,
        "va_customer_name": va.customer_name if va else None,
        "va_due_date": va.due_date if va else None,
        "easy_pay_provider": easy.provider if easy else None,
        "easy_pay_amount": easy.amount if easy else None,
        "easy_pay_discount_amount": easy.discount_amount if easy else None,
        "failure_code": failure.code if failure else None,
        "failure_message": failure.message if failure else None,
        "receipt_url": payment.receipt_url,
        "deposit_secret_digest": payment.deposit_secret_digest,
        "confirm_idempotency_key": payment.confirm_idempotency_key,
        "needs_review": payment.needs_review,
        "review_reason": payment.review_reason,
        "next_reconcile_at": payment.next_reconcile_at,
        "expiry_recheck_at": payment.expiry_recheck_at,
        "reconcile_attempts": payment.reconcile_attempts,
        "event_sequence": payment.event_sequence,
        "billing_key_id": payment.billing_key_id,
        "subscription_id": payment.subscription_id,
    }


def payment_from_row(row: Mapping[str, Any], cancel_rows: Sequence[Mapping[str, Any]]) -> Payment:
    return Payment(
        id=row["id"],
        tenant_id=row["tenant_id"],
        pg_account_id=row["pg_account_id"],
        order_id=row["order_id"],
        order_name=row["order_name"],
        amount=row["amount"],
        currency=row["currency"],
        status=PaymentStatus(row["status"]),
        balance_amount=row["balance_amount"],
        pending_cancel_amount=row["pending_cancel_amount"],
        tax_free_amount=row["tax_free_amount"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        method=PaymentMethod(row["method"]) if row["method"] else None,
        customer_key=row["customer_key"],
        metadata=row["metadata"],
        success_url=row["success_url"],
        fail_url=row["fail_url"],
        payment_key=row["payment_key"],
        requested_at=row["requested_at"],
        approved_at=row["approved_at"],
        card=_card(row),
        virtual_account=_virtual_account(row),
        easy_pay=_easy_pay(row),
        failure=_failure(row, "failure_code", "failure_message"),
        receipt_url=row["receipt_url"],
        deposit_secret_digest=row["deposit_secret_digest"],
        confirm_idempotency_key=row["confirm_idempotency_key"],
        cancels=[cancel_from_row(c) for c in cancel_rows],
        needs_review=bool(row["needs_review"]),
        review_reason=row["review_reason"],
        next_reconcile_at=row["next_reconcile_at"],
        expiry_recheck_at=row["expiry_recheck_at"],
        reconcile_attempts=row["reconcile_attempts"],
        version=row["version"],
        event_sequence=row["event_sequence"],
        billing_key_id=row["billing_key_id"],
        subscription_id=row["subscription_id"],
    )


def cancel_to_row(payment_id: str, position: int, cancel: Cancel) -> Row:
    return {
        "id": cancel.id,
        "payment_id": payment_id,
        "position": position,
        "amount": cancel.amount,
        "tax_free_amount": cancel.tax_free_amount,
        "reason": cancel.reason,
        "status": cancel.status.value,
        "gateway_idempotency_key": cancel.gateway_idempotency_key,
        "requested_at": cancel.requested_at,
        "canceled_at": cancel.canceled_at,
        "transaction_key": cancel.transaction_key,
        "failure_code": cancel.failure.code if cancel.failure else None,
        "failure_message": cancel.failure.message if cancel.failure else None,
        "pg_key": cancel.pg_key,
    }


def cancel_from_row(row: Mapping[str, Any]) -> Cancel:
    return Cancel(
        id=row["id"],
        amount=row["amount"],
        reason=row["reason"],
        status=CancelStatus(row["status"]),
        gateway_idempotency_key=row["gateway_idempotency_key"],
        requested_at=row["requested_at"],
        tax_free_amount=row["tax_free_amount"],
        canceled_at=row["canceled_at"],
        transaction_key=row["transaction_key"],
        failure=_failure(row, "failure_code", "failure_message"),
        pg_key=row["pg_key"],
    )


def _any_set(row: Mapping[str, Any], *columns: str) -> bool:
    return any(row[c] is not None for c in columns)


def _card(row: Mapping[str, Any]) -> CardDetails | None:
    columns = (
        "card_company",
        "card_number",
        "card_type",
        "card_owner_type",
        "card_installment_plan_months",
        "card_approve_no",
    )
    if not _any_set(row, *columns):
        return None
    return CardDetails(
        company=row["card_company"],
        number=row["card_number"],
        card_type=row["card_type"],
        owner_type=row["card_owner_type"],
        installment_plan_months=row["card_installment_plan_months"],
        approve_no=row["card_approve_no"],
    )


def _virtual_account(row: Mapping[str, Any]) -> VirtualAccountDetails | None:
    if not _any_set(row, "va_bank", "va_account_number", "va_customer_name", "va_due_date"):
        return None
    return VirtualAccountDetails(
        bank=row["va_bank"],
        account_number=row["va_account_number"],
        customer_name=row["va_customer_name"],
        due_date=row["va_due_date"],
    )


def _easy_pay(row: Mapping[str, Any]) -> EasyPayDetails | None:
    if not _any_set(row, "easy_pay_provider", "easy_pay_amount", "easy_pay_discount_amount"):
        return None
    return EasyPayDetails(
        provider=row["easy_pay_provider"],
        amount=row["easy_pay_amount"],
        discount_amount=row["easy_pay_discount_amount"],
    )


def _failure(row: Mapping[str, Any], code: str, message: str) -> Failure | None:
    if row[code] is None:
        return None
    return Failure(code=row[code], message=row[message] or "")
