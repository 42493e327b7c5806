"""The Core API v1 calls as TossRequests: one function per endpoint, shared by both clients.

Paths and bodies follow https://docs.tosspayments.com/reference (docs/toss.md "Endpoints Sunap calls").
Every POST carries an Idempotency-Key — the caller's, or a fresh UUID — so a retry after a lost
answer is replayed by Toss instead of being applied twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from .codes import Operation
from .transport import TossRequest


@dataclass(frozen=True)
class RefundReceiveAccount:
    """Where a deposited virtual-account payment is refunded: `bank` is a bank code, e.g. "88"."""

    bank: str
    account_number: str
    holder_name: str


def _segment(value: str) -> str:
    return quote(value, safe="")


def _key(idempotency_key: str | None) -> str:
    return idempotency_key if idempotency_key is not None else str(uuid.uuid4())


def _with(body: dict[str, Any], **optional: Any) -> dict[str, Any]:
    """`body` plus each optional field that was given (None: left out, so Toss's default applies)."""
    body.update({name: value for name, value in optional.items() if value is not None})
    return body


def confirm(
    payment_key: str, order_id: str, amount: int, idempotency_key: str | None
) -> TossRequest:
    return TossRequest(
        Operation.CONFIRM,
        "POST",
        "/v1/payments/confirm",
        "/v1/payments/confirm",
        body={"paymentKey": payment_key, "orderId": order_id, "amount": amount},
        idempotency_key=_key(idempotency_key),
    )


def get_payment(payment_key: str) -> TossRequest:
    path = f"/v1/payments/{_segment(payment_key)}"
    return TossRequest(Operation.LOOKUP, "GET", path, path)


def get_payment_by_order_id(order_id: str) -> TossRequest:
    path = f"/v1/payments/orders/{_segment(order_id)}"
    return TossRequest(Operation.LOOKUP, "GET", path, path)


def cancel(
    payment_key: str,
    cancel_reason: str,
    cancel_amount: int | None,
    *,
    idempotency_key: str | None,
    refund_receive_account: RefundReceiveAccount | None = None,
    tax_free_amount: int | None = None,
    refundable_amount: int | None = None,
    currency: str | None = None,
) -> TossRequest:
    account = (
        None
        if refund_receive_account is None
        else {
            "bank": refund_receive_account.bank,
            "accountNumber": refund_receive_account.account_number,
            "holderName": refund_receive_account.holder_name,
        }
    )
    body = _with(
        {"cancelReason": cancel_reason},
        cancelAmount=cancel_amount,  # omitted: Toss cancels the whole balance
        taxFreeAmount=tax_free_amount,
        refundableAmount=refundable_amount,
        currency=currency,
        refundReceiveAccount=account,
    )
    path = f"/v1/payments/{_segment(payment_key)}/cancel"
    return TossRequest(
        Operation.CANCEL, "POST", path, path, body=body, idempotency_key=_key(idempotency_key)
    )


def key_in(
    *,
    amount: int,
    order_id: str,
    order_name: str,
    card_number: str,
    card_expiration_year: str,
    card_expiration_month: str,
    customer_identity_number: str,
    card_password: str | None,
    card_installment_plan: int | None,
    customer_name: str | None,
    customer_email: str | None,
    tax_free_amount: int | None,
    idempotency_key: str | None,
) -> TossRequest:
    body = _with(
        {
            "amount": amount,
            "orderId": order_id,
            "orderName": order_name,
            "cardNumber": card_number,
            "cardExpirationYear": card_expiration_year,
            "cardExpirationMonth": card_expiration_month,
            "customerIdentityNumber": customer_identity_number,
        },
        cardPassword=card_password,
        cardInstallmentPlan=card_installment_plan,
        customerName=customer_name,
        customerEmail=customer_email,
        taxFreeAmount=tax_free_amount,
    )
    return TossRequest(
        Operation.KEY_IN,
        "POST",
        "/v1/payments/key-in",
        "/v1/payments/key-in",
        body=body,
        idempotency_key=_key(idempotency_key),
    )


def issue_virtual_account(
    *,
    amount: int,
    order_id: str,
    order_name: str,
    customer_name: str,
    bank: str,
    valid_hours: int | None,
    due_date: str | None,
    customer_email: str | None,
    customer_mobile_phone: str | None,
    tax_free_amount: int | None,
    cash_receipt: Mapping[str, str] | None,
    idempotency_key: str | None,
) -> TossRequest:
    body = _with(
        {
            "amount": amount,
            "orderId": order_id,
            "orderName": order_name,
            "customerName": customer_name,
            "bank": bank,
        },
        validHours=valid_hours,
        dueDate=due_date,
        customerEmail=customer_email,
        customerMobilePhone=customer_mobile_phone,
        taxFreeAmount=tax_free_amount,
        cashReceipt=None if cash_receipt is None else dict(cash_receipt),
    )
    return TossRequest(
        Operation.VIRTUAL_ACCOUNT,
        "POST",
        "/v1/virtual-accounts",
        "/v1/virtual-accounts",
        body=body,
        idempotency_key=_key(idempotency_key),
    )


def issue_billing_key(auth_key: str, customer_key: str, idempotency_key: str | None) -> TossRequest:
    return TossRequest(
        Operation.BILLING_ISSUE,
        "POST",
        "/v1/billing/authorizations/issue",
        "/v1/billing/authorizations/issue",
        body={"authKey": auth_key, "customerKey": customer_key},
        idempotency_key=_key(idempotency_key),
    )


def charge_billing_key(
    *,
    billing_key: str,
    customer_key: str,
    amount: int,
    order_id: str,
    order_name: str,
    customer_email: str | None,
    customer_name: str | None,
    tax_free_amount: int | None,
    card_installment_plan: int | None,
    idempotency_key: str | None,
    read_timeout: float,
) -> TossRequest:
    body = _with(
        {
            "customerKey": customer_key,
            "amount": amount,
            "orderId": order_id,
            "orderName": order_name,
        },
        customerEmail=customer_email,
        customerName=customer_name,
        taxFreeAmount=tax_free_amount,
        cardInstallmentPlan=card_installment_plan,
    )
    return TossRequest(
        Operation.BILLING_CHARGE,
        "POST",
        f"/v1/billing/{_segment(billing_key)}",
        "/v1/billing/{billingKey}",  # the billing key is a credential: never in a log
        body=body,
        idempotency_key=_key(idempotency_key),
        read_timeout=read_timeout,
    )


def delete_billing_key(billing_key: str) -> TossRequest:
    return TossRequest(
        Operation.BILLING_DELETE,
        "DELETE",
        f"/v1/billing/{_segment(billing_key)}",
        "/v1/billing/{billingKey}",
    )


def list_transactions(
    start_date: str, end_date: str, starting_after: str | None, limit: int | None
) -> TossRequest:
    params = _with({"startDate": start_date, "endDate": end_date})
    params = _with(params, startingAfter=starting_after, limit=limit)
    return TossRequest(
        Operation.TRANSACTIONS,
        "GET",
        "/v1/transactions",
        "/v1/transactions",
        params=params,
        read_timeout=60.0,  # Toss: a transactions query may take up to 60 s
    )


def list_settlements(
    start_date: str,
    end_date: str,
    date_type: str | None,
    page: int | None,
    size: int | None,
) -> TossRequest:
    params = _with(
        {"startDate": start_date, "endDate": end_date}, dateType=date_type, page=page, size=size
    )
    return TossRequest(
        Operation.SETTLEMENTS,
        "GET",
        "/v1/settlements",
        "/v1/settlements",
        params=params,
        read_timeout=60.0,
    )


def request_settlement(payment_key: str, idempotency_key: str | None) -> TossRequest:
    return TossRequest(
        Operation.SETTLEMENTS,
        "POST",
        "/v1/settlements",
        "/v1/settlements",
        body={"paymentKey": payment_key},
        idempotency_key=_key(idempotency_key),
    )


def issue_cash_receipt(
    *,
    amount: int,
    order_id: str,
    order_name: str,
    customer_identity_number: str,
    type: str,
    tax_free_amount: int | None,
    idempotency_key: str | None,
) -> TossRequest:
    body = _with(
        {
            "amount": amount,
            "orderId": order_id,
            "orderName": order_name,
            "customerIdentityNumber": customer_identity_number,
            "type": type,
        },
        taxFreeAmount=tax_free_amount,
    )
    return TossRequest(
        Operation.CASH_RECEIPT,
        "POST",
        "/v1/cash-receipts",
        "/v1/cash-receipts",
        body=body,
        idempotency_key=_key(idempotency_key),
    )


def cancel_cash_receipt(
    receipt_key: str, amount: int | None, idempotency_key: str | None
) -> TossRequest:
    path = f"/v1/cash-receipts/{_segment(receipt_key)}/cancel"
    return TossRequest(
        Operation.CASH_RECEIPT,
        "POST",
        path,
        path,
        body=_with({}, amount=amount),
        idempotency_key=_key(idempotency_key),
    )


def list_cash_receipts(request_date: str, cursor: str | None, limit: int | None) -> TossRequest:
    params = _with({"requestDate": request_date}, cursor=cursor, limit=limit)
    return TossRequest(
        Operation.CASH_RECEIPT,
        "GET",
        "/v1/cash-receipts",
        "/v1/cash-receipts",
        params=params,
    )
