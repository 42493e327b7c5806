"""Messages in and out. In: each request becomes the API's JSON body (entrypoints/http/schemas.py)
and is validated by the same rules as over HTTP; proto3's empty values mean "not given". Out: the
payment resource merchants see over HTTP (`Container.resource`), field by field."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import BaseModel, ValidationError

from sunap.application.ports.payments import PaymentQuery
from sunap.domain.errors import InvalidRequest
from sunap.domain.payment import PaymentStatus
from sunap.entrypoints.errors import validation_message
from sunap.entrypoints.http.schemas import (
    MAX_CURSOR,
    MAX_CUSTOMER_KEY_FILTER,
    MAX_ORDER_ID_FILTER,
    CancelPaymentBody,
    ConfirmPaymentBody,
    CreatePaymentBody,
    list_filter,
)
from sunap.v1 import payments_pb2 as pb

Body = TypeVar("Body", bound=BaseModel)


def _given(**fields: Any) -> dict[str, Any]:
    """The fields a proto3 message set: an empty string, map or unset message is not given."""
    return {name: value for name, value in fields.items() if value not in ("", None, {})}


def _field_name(json_name: str, renamed: Mapping[str, str]) -> str:
    return renamed.get(json_name) or re.sub(r"(?<!^)([A-Z])", r"_\1", json_name).lower()


def _validated(
    model: type[Body], fields: dict[str, Any], renamed: Mapping[str, str] | None = None
) -> Body:
    try:
        return model.model_validate(fields)
    except ValidationError as invalid:
        problems = [
            {**p, "loc": tuple(_field_name(str(part), renamed or {}) for part in p["loc"])}
            for p in invalid.errors()
        ]
        raise InvalidRequest(validation_message(problems)) from invalid


def create_body(request: pb.CreatePaymentRequest) -> CreatePaymentBody:
    fields = _given(
        currency=request.currency,
        orderId=request.order_id,
        customerKey=request.customer_key,
        method=request.method,
        successUrl=request.success_url,
        failUrl=request.fail_url,
        metadata=dict(request.metadata),
    )
    required = {"orderName": request.order_name, "amount": request.amount}
    return _validated(CreatePaymentBody, required | fields)


def confirm_body(request: pb.ConfirmPaymentRequest) -> ConfirmPaymentBody:
    fields = {
        "paymentKey": request.payment_key,
        "orderId": request.order_id,
        "amount": request.amount,
    }
    return _validated(ConfirmPaymentBody, fields)


def _refund_account(account: pb.RefundAccount) -> dict[str, str]:
    return {
        "bank": account.bank,
        "accountNumber": account.account_number,
        "holderName": account.holder_name,
    }


def cancel_body(request: pb.CancelPaymentRequest) -> CancelPaymentBody:
    fields: dict[str, Any] = {"cancelReason": request.cancel_reason}
    if request.HasField("cancel_amount"):
        fields["cancelAmount"] = request.cancel_amount
    if request.HasField("tax_free_amount"):
        fields["taxFreeAmount"] = request.tax_free_amount
    if request.HasField("refund_receive_account"):
        fields["refundReceiveAccount"] = _refund_account(request.refund_receive_account)
    return _validated(CancelPaymentBody, fields)


REFUND_NAMES = {"cancelReason": "reason", "cancelAmount": "amount"}


def refund_body(request: pb.RefundPaymentRequest) -> CancelPaymentBody:
    fields: dict[str, Any] = {"cancelReason": request.reason}
    if request.HasField("amount"):
        fields["cancelAmount"] = request.amount
    if request.HasField("refund_receive_account"):
        fields["refundReceiveAccount"] = _refund_account(request.refund_receive_account)
    return _validated(CancelPaymentBody, fields, REFUND_NAMES)


def payment_query(request: pb.ListPaymentsRequest) -> PaymentQuery:
    status = None
    if request.status != pb.PAYMENT_STATUS_UNSPECIFIED:
        try:
            status = PaymentStatus(pb.PaymentStatus.Name(request.status))
        except ValueError as unknown:
            raise InvalidRequest(f"status must be one of {', '.join(PaymentStatus)}.") from unknown
    return PaymentQuery(
        order_id=list_filter(request.order_id, MAX_ORDER_ID_FILTER, "order_id"),
        customer_key=list_filter(request.customer_key, MAX_CUSTOMER_KEY_FILTER, "customer_key"),
        status=status,
        limit=request.limit or 20,
        cursor=list_filter(request.cursor, MAX_CURSOR, "cursor"),
    )


def _timestamp(value: str | None) -> Timestamp | None:
    """An RFC 3339 time of the resource; None when absent or not a time (a PG's free text)."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def payment_message(resource: Mapping[str, Any]) -> pb.Payment:
    """The payment resource (application/presenters.py) as a sunap.v1.Payment."""
    message = pb.Payment(
        id=resource["id"],
        order_id=resource["orderId"],
        order_name=resource["orderName"],
        status=pb.PaymentStatus.Value(resource["status"]),
        amount=resource["amount"],
        balance_amount=resource["balanceAmount"],
        currency=resource["currency"],
        method=_text(resource["method"]),
        payment_key=_text(resource["paymentKey"]),
        customer_key=_text(resource["customerKey"]),
        metadata={str(k): _text(v) for k, v in (resource["metadata"] or {}).items()},
        requested_at=_timestamp(resource["requestedAt"]),
        approved_at=_timestamp(resource["approvedAt"]),
        created_at=_timestamp(resource["createdAt"]),
        updated_at=_timestamp(resource["updatedAt"]),
        receipt_url=_text(resource["receiptUrl"]),
        needs_review=bool(resource["needsReview"]),
        pending_cancel_amount=resource["pendingCancelAmount"],
        review_reason=_text(resource["reviewReason"]),
        billing_key_id=_text(resource["billingKeyId"]),
        subscription_id=_text(resource["subscriptionId"]),
    )
    if (card := resource["card"]) is not None:
        message.card.CopyFrom(
            pb.Card(
                company=_text(card["company"]),
                number=_text(card["number"]),
                card_type=_text(card["cardType"]),
                owner_type=_text(card["ownerType"]),
                installment_plan_months=card["installmentPlanMonths"] or 0,
                approve_no=_text(card["approveNo"]),
            )
        )
    if (account := resource["virtualAccount"]) is not None:
        message.virtual_account.CopyFrom(
            pb.VirtualAccount(
                bank=_text(account["bank"]),
                account_number=_text(account["accountNumber"]),
                customer_name=_text(account["customerName"]),
                due_date=_timestamp(account["dueDate"]),
            )
        )
    for cancel in resource["cancels"]:
        message.cancels.add(
            cancel_amount=cancel["cancelAmount"],
            cancel_reason=_text(cancel["cancelReason"]),
            canceled_at=_timestamp(cancel["canceledAt"]),
            transaction_key=_text(cancel["transactionKey"]),
        )
    if (failure := resource["failure"]) is not None:
        message.failure.CopyFrom(pb.Failure(code=failure["code"], message=failure["message"]))
    if (checkout := resource["checkout"]) is not None:
        message.checkout.CopyFrom(
            pb.Checkout(
                url=_text(checkout["url"]),
                client_key=_text(checkout.get("clientKey")),
                customer_key=_text(checkout["customerKey"]),
                success_url=_text(checkout["successUrl"]),
                fail_url=_text(checkout["failUrl"]),
            )
        )
    return message
