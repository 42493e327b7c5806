"""The Toss Core API v1 routes: each reads its request the way Toss does and asks the merchant."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sunap_toss_sandbox import fields
from sunap_toss_sandbox.answers import Answer
from sunap_toss_sandbox.catalogue import TossError
from sunap_toss_sandbox.clock import parse_due_date
from sunap_toss_sandbox.merchant import (
    CancelPayment,
    ChargeBillingKey,
    IssueVirtualAccount,
    KeyInPayment,
    Merchant,
    RefundAccount,
)
from sunap_toss_sandbox.pipeline import Operation, TossCall, serve_toss_call
from sunap_toss_sandbox.runtime import SandboxRuntime
from sunap_toss_sandbox.vocabulary import bank_code_of


def confirm(merchant: Merchant, call: TossCall) -> Answer:
    body = call.body()
    payment_key = fields.required_text(body, "paymentKey", max_length=200)
    order_id = fields.order_id(body)
    amount = fields.amount(body)
    return Answer.ok(merchant.confirm(payment_key, order_id, amount).to_json())


def get_payment(merchant: Merchant, call: TossCall) -> Answer:
    return Answer.ok(merchant.payment(call.path_params["paymentKey"]).to_json())


def get_payment_by_order(merchant: Merchant, call: TossCall) -> Answer:
    return Answer.ok(merchant.payment_by_order(call.path_params["orderId"]).to_json())


def cancel(merchant: Merchant, call: TossCall) -> Answer:
    body = call.body()
    currency = fields.text(body, "currency", max_length=3, required=False)
    if currency is not None and currency != "KRW":
        raise TossError("INVALID_CURRENCY")
    request = CancelPayment(
        reason=fields.required_text(body, "cancelReason", max_length=200),
        amount=fields.whole_number(body, "cancelAmount", required=False),
        tax_free_amount=fields.whole_number(body, "taxFreeAmount", minimum=0, required=False) or 0,
        refundable_amount=fields.whole_number(body, "refundableAmount", minimum=0, required=False),
        refund_account=_refund_account(body.get("refundReceiveAccount")),
    )
    return Answer.ok(merchant.cancel(call.path_params["paymentKey"], request).to_json())


def _refund_account(value: Any) -> RefundAccount | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise TossError("INVALID_REQUEST")
    bank = value.get("bank")
    bank_code = bank_code_of(bank) if isinstance(bank, str) else None
    if bank_code is None:
        raise TossError("INVALID_BANK")
    number = fields.digits(
        value, "accountNumber", lengths=range(6, 21), code="INVALID_REFUND_ACCOUNT_NUMBER"
    )
    holder = fields.required_text(value, "holderName", max_length=60)
    return RefundAccount(bank_code, number, holder)


def issue_virtual_account(merchant: Merchant, call: TossCall) -> Answer:
    body = call.body()
    order_id = fields.order_id(body)
    amount = fields.amount(body)
    order_name = fields.required_text(body, "orderName", max_length=100)
    customer_name = fields.required_text(body, "customerName", max_length=100)
    bank = body.get("bank")
    bank_code = bank_code_of(bank) if isinstance(bank, str) else None
    if bank_code is None:
        raise TossError("INVALID_BANK")
    valid_hours = fields.whole_number(body, "validHours", required=False)
    due_text = fields.text(body, "dueDate", max_length=40, required=False)
    if valid_hours is not None and due_text is not None:
        raise TossError("INVALID_VALID_HOURS_WITH_DUE_DATE_AND_SINGLE")
    try:
        due_at = parse_due_date(due_text) if due_text is not None else None
    except ValueError:
        raise TossError("INVALID_DATE") from None
    request = IssueVirtualAccount(
        order_id=order_id,
        amount=amount,
        order_name=order_name,
        customer_name=customer_name,
        bank_code=bank_code,
        due_at=due_at,
        valid_hours=valid_hours,
        tax_free_amount=fields.whole_number(body, "taxFreeAmount", minimum=0, required=False) or 0,
    )
    return Answer.ok(merchant.issue_virtual_account(request).to_json())


def issue_billing_key(merchant: Merchant, call: TossCall) -> Answer:
    body = call.body()
    auth_key = fields.required_text(body, "authKey", max_length=300)
    customer_key = fields.customer_key(body)
    return Answer.ok(merchant.issue_billing_key(auth_key, customer_key).to_json())


def register_card(merchant: Merchant, call: TossCall) -> Answer:
    body = call.body()
    customer_key = fields.customer_key(body)
    card_number = _card(body)
    return Answer.ok(merchant.register_card(customer_key, card_number).to_json())


def charge_billing_key(merchant: Merchant, call: TossCall) -> Answer:
    body = call.body()
    request = ChargeBillingKey(
        customer_key=fields.customer_key(body),
        order_id=fields.order_id(body),
        amount=fields.amount(body),
        order_name=fields.required_text(body, "orderName", max_length=100),
        tax_free_amount=fields.whole_number(body, "taxFreeAmount", minimum=0, required=False) or 0,
        installment_months=_installment(body),
    )
    return Answer.ok(merchant.charge(call.path_params["billingKey"], request).to_json())


def delete_billing_key(merchant: Merchant, call: TossCall) -> Answer:
    merchant.delete_billing_key(call.path_params["billingKey"])
    return Answer.ok(None)  # 200 with an empty body


def key_in(merchant: Merchant, call: TossCall) -> Answer:
    body = call.body()
    order_id = fields.order_id(body)
    amount = fields.amount(body)
    order_name = fields.required_text(body, "orderName", max_length=100)
    card_number = _card(body)
    if amount < 100:
        raise TossError("BELOW_MINIMUM_AMOUNT")
    request = KeyInPayment(
        order_id=order_id,
        amount=amount,
        order_name=order_name,
        card_number=card_number,
        installment_months=_installment(body),
        tax_free_amount=fields.whole_number(body, "taxFreeAmount", minimum=0, required=False) or 0,
        customer_name=fields.text(body, "customerName", max_length=100, required=False),
    )
    return Answer.ok(merchant.key_in(request).to_json())


def _card(body: dict[str, Any]) -> str:
    """The card number of a key-in or card registration, with its expiry and identity checked."""
    number = fields.digits(body, "cardNumber", lengths=range(8, 21), code="INVALID_CARD_NUMBER")
    year = fields.digits(
        body, "cardExpirationYear", lengths=range(2, 3), code="INVALID_CARD_EXPIRATION"
    )
    month = fields.digits(
        body, "cardExpirationMonth", lengths=range(2, 3), code="INVALID_CARD_EXPIRATION"
    )
    if not 1 <= int(month) <= 12 or not year:
        raise TossError("INVALID_CARD_EXPIRATION")
    fields.digits(body, "customerIdentityNumber", lengths=range(6, 11), code="INVALID_REQUEST")
    return number


def _installment(body: dict[str, Any]) -> int:
    months = fields.whole_number(body, "cardInstallmentPlan", minimum=0, required=False) or 0
    if months == 1 or months > 12:
        raise TossError("INVALID_CARD_INSTALLMENT_PLAN")
    return months


def toss_routes(runtime: SandboxRuntime) -> list[Route]:
    def endpoint(operation: Operation) -> Any:
        async def handle(request: Request) -> Response:
            return await serve_toss_call(runtime, request, operation)

        return handle

    return [
        Route("/v1/payments/confirm", endpoint(confirm), methods=["POST"]),
        Route("/v1/payments/key-in", endpoint(key_in), methods=["POST"]),
        Route("/v1/payments/orders/{orderId}", endpoint(get_payment_by_order), methods=["GET"]),
        Route("/v1/payments/{paymentKey}", endpoint(get_payment), methods=["GET"]),
        Route("/v1/payments/{paymentKey}/cancel", endpoint(cancel), methods=["POST"]),
        Route("/v1/virtual-accounts", endpoint(issue_virtual_account), methods=["POST"]),
        Route("/v1/billing/authorizations/issue", endpoint(issue_billing_key), methods=["POST"]),
        Route("/v1/billing/authorizations/card", endpoint(register_card), methods=["POST"]),
        Route("/v1/billing/{billingKey}", endpoint(charge_billing_key), methods=["POST"]),
        Route("/v1/billing/{billingKey}", endpoint(delete_billing_key), methods=["DELETE"]),
    ]
