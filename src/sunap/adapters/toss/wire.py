"""Toss's Payment and Billing JSON, read into our gateway DTOs.

Only the fields we use are read; everything else is ignored, because Toss adds fields without
a version bump (docs/toss.md, Keys and requests). Amounts must be whole numbers: the JSON is parsed with
`parse_float=Decimal`, so `15000.0` arrives as Decimal and becomes int here, never float.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sunap.application.ports.gateway import (
    BillingAuthorization,
    GatewayCancel,
    GatewayExchange,
    GatewayPayment,
)
from sunap.domain.payment import (
    CardDetails,
    EasyPayDetails,
    Failure,
    PaymentMethod,
    PaymentStatus,
    VirtualAccountDetails,
)
from sunap_toss.fields import WireError as WireError  # raised by parse_payment/parse_billing
from sunap_toss.fields import json_list as _list
from sunap_toss.fields import json_object as _object
from sunap_toss.fields import optional_str as _optional_str
from sunap_toss.fields import required_str as _required_str
from sunap_toss.fields import timestamp as _datetime
from sunap_toss.fields import whole as _whole

METHODS: Mapping[str, PaymentMethod] = {
    "카드": PaymentMethod.CARD,
    "가상계좌": PaymentMethod.VIRTUAL_ACCOUNT,
    "간편결제": PaymentMethod.EASY_PAY,
    "해외간편결제": PaymentMethod.EASY_PAY,
    "계좌이체": PaymentMethod.TRANSFER,
    "휴대폰": PaymentMethod.MOBILE_PHONE,
    "문화상품권": PaymentMethod.GIFT_CERTIFICATE,
    "도서문화상품권": PaymentMethod.GIFT_CERTIFICATE,
    "게임문화상품권": PaymentMethod.GIFT_CERTIFICATE,
    # With `Accept-Language: en-US` Toss may answer in English; accept our own names too.
    **{method.value: method for method in PaymentMethod},
}

STATUSES: Mapping[str, PaymentStatus] = {status.value: status for status in PaymentStatus}


def parse_payment(data: Any, exchange: GatewayExchange | None = None) -> GatewayPayment:
    """A Toss Payment object as a GatewayPayment; WireError when a field we rely on is wrong."""
    body = _object(data, "payment")
    status_text = _required_str(body, "status")
    if status_text not in STATUSES:
        raise WireError(f"unknown payment status {status_text!r}")
    method_text = _optional_str(body, "method")
    return GatewayPayment(
        payment_key=_required_str(body, "paymentKey"),
        order_id=_required_str(body, "orderId"),
        status=STATUSES[status_text],
        total_amount=_whole(body.get("totalAmount"), "totalAmount"),
        balance_amount=_whole(body.get("balanceAmount"), "balanceAmount"),
        currency=_optional_str(body, "currency") or "KRW",
        # An unfamiliar method is not a reason to lose the payment: keep it as "unknown".
        method=METHODS.get(method_text) if method_text else None,
        approved_at=_datetime(body.get("approvedAt"), "approvedAt"),
        requested_at=_datetime(body.get("requestedAt"), "requestedAt"),
        card=_card(body.get("card")),
        virtual_account=_virtual_account(body.get("virtualAccount")),
        easy_pay=_easy_pay(body.get("easyPay")),
        receipt_url=_optional_str(_object(body.get("receipt") or {}, "receipt"), "url"),
        failure=_failure(body.get("failure")),
        cancels=tuple(_cancel(item) for item in _list(body.get("cancels"), "cancels")),
        last_transaction_key=_optional_str(body, "lastTransactionKey"),
        deposit_secret=_optional_str(body, "secret"),
        account_expired=_account_expired(body.get("virtualAccount")),
        exchange=exchange,
    )


def parse_billing(data: Any, exchange: GatewayExchange | None = None) -> BillingAuthorization:
    body = _object(data, "billing")
    card = _card(body.get("card"))
    if card is None and (body.get("cardCompany") or body.get("cardNumber")):
        # Billing objects before 2024-06-01 carry the card flat.
        card = CardDetails(
            company=_optional_str(body, "cardCompany"),
            number=_optional_str(body, "cardNumber"),
            card_type=None,
            owner_type=None,
            installment_plan_months=None,
            approve_no=None,
        )
    return BillingAuthorization(
        billing_key=_required_str(body, "billingKey"),
        customer_key=_required_str(body, "customerKey"),
        card=card,
        authenticated_at=_datetime(body.get("authenticatedAt"), "authenticatedAt"),
        exchange=exchange,
    )


def _card(value: Any) -> CardDetails | None:
    if value is None:
        return None
    card = _object(value, "card")
    months = card.get("installmentPlanMonths")
    return CardDetails(
        # We keep Toss's issuer code (e.g. "61"): a stable identifier; naming is presentation.
        company=_optional_str(card, "issuerCode") or _optional_str(card, "company"),
        number=_optional_str(card, "number"),  # already masked by Toss
        card_type=_optional_str(card, "cardType"),
        owner_type=_optional_str(card, "ownerType"),
        installment_plan_months=None if months is None else _whole(months, "installmentPlanMonths"),
        approve_no=_optional_str(card, "approveNo"),
    )


def _account_expired(value: Any) -> bool:
    """Toss keeps an overdue account WAITING_FOR_DEPOSIT and says so only in this flag."""
    return isinstance(value, Mapping) and value.get("expired") is True


def _virtual_account(value: Any) -> VirtualAccountDetails | None:
    if value is None:
        return None
    account = _object(value, "virtualAccount")
    return VirtualAccountDetails(
        bank=_optional_str(account, "bankCode") or _optional_str(account, "bank"),
        account_number=_optional_str(account, "accountNumber"),
        customer_name=_optional_str(account, "customerName"),
        due_date=_optional_str(account, "dueDate"),
    )


def _easy_pay(value: Any) -> EasyPayDetails | None:
    if value is None:
        return None
    easy_pay = _object(value, "easyPay")
    amount = easy_pay.get("amount")
    discount = easy_pay.get("discountAmount")
    return EasyPayDetails(
        provider=_optional_str(easy_pay, "provider"),
        amount=None if amount is None else _whole(amount, "easyPay.amount"),
        discount_amount=None if discount is None else _whole(discount, "easyPay.discountAmount"),
    )


def _failure(value: Any) -> Failure | None:
    if value is None:
        return None
    failure = _object(value, "failure")
    return Failure(
        code=_optional_str(failure, "code") or "UNKNOWN",
        message=_optional_str(failure, "message") or "",
    )


def _cancel(value: Any) -> GatewayCancel:
    cancel = _object(value, "cancels[]")
    return GatewayCancel(
        amount=_whole(cancel.get("cancelAmount"), "cancelAmount"),
        reason=_optional_str(cancel, "cancelReason"),
        canceled_at=_datetime(cancel.get("canceledAt"), "canceledAt"),
        transaction_key=_optional_str(cancel, "transactionKey"),
    )
