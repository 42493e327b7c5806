"""The Toss Core API v1 routes: each reads its request the way Toss does and asks the merchant."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sunap_toss_sandbox import choices, fields
from sunap_toss_sandbox.answers import Answer
from sunap_toss_sandbox.cash_receipts import IssueCashReceipt
from sunap_toss_sandbox.catalogue import TossError
from sunap_toss_sandbox.clock import KST, parse_due_date
from sunap_toss_sandbox.merchant import (
    CancelPayment,
    ChargeBillingKey,
    IssueVirtualAccount,
    KeyInPayment,
    Merchant,
    RefundAccount,
)
from sunap_toss_sandbox.pipeline import Api, TossCall, serve_toss_call
from sunap_toss_sandbox.runtime import SandboxRuntime
from sunap_toss_sandbox.transactions import page_of, transactions_of
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


def transactions(merchant: Merchant, call: TossCall) -> Answer:
    start = _query_time(call, "startDate")
    end = _query_time(call, "endDate")
    limit = _limit(call, "limit", maximum=5000)
    found = page_of(
        transactions_of(merchant.payments.values()),
        start,
        end,
        call.query.get("startingAfter"),
        limit,
    )
    return Answer.ok([transaction.to_json() for transaction in found])


def settlements(merchant: Merchant, call: TossCall) -> Answer:
    _query_date(call, "startDate")
    _query_date(call, "endDate")
    if call.query.get("dateType", "soldDate") not in ("soldDate", "paidOutDate"):
        raise TossError("INVALID_REQUEST")
    _limit(call, "page", maximum=10**9)
    _limit(call, "size", maximum=5000)
    return Answer.ok([])  # Toss's test mode settles nothing (docs/toss.md 8)


def issue_cash_receipt(merchant: Merchant, call: TossCall) -> Answer:
    body = call.body()
    request = IssueCashReceipt(
        amount=fields.amount(body),
        order_id=fields.order_id(body),
        order_name=fields.required_text(body, "orderName", max_length=100),
        customer_identity_number=fields.required_text(
            body, "customerIdentityNumber", max_length=30
        ),
        type=fields.required_text(body, "type", max_length=10),
        tax_free_amount=fields.whole_number(body, "taxFreeAmount", minimum=0, required=False) or 0,
    )
    return Answer.ok(merchant.cash_receipts.issue(request).to_json())


def cancel_cash_receipt(merchant: Merchant, call: TossCall) -> Answer:
    amount = fields.whole_number(call.body(), "amount", required=False)
    receipt = merchant.cash_receipts.cancel(call.path_params["receiptKey"], amount)
    return Answer.ok(receipt.to_json())


def list_cash_receipts(merchant: Merchant, call: TossCall) -> Answer:
    requested_on = _query_date(call, "requestDate")
    cursor_text = call.query.get("cursor")
    if cursor_text is not None and not cursor_text.isdigit():
        raise TossError("INVALID_PAGING_KEY")
    limit = _limit(call, "limit", maximum=10_000)
    rows, more = merchant.cash_receipts.listed(
        requested_on, int(cursor_text) if cursor_text else None, limit
    )
    return Answer.ok(
        {
            "hasNext": more,
            "lastCursor": rows[-1].sequence if rows else None,
            "data": [row.to_json() for row in rows],
        }
    )


def _query_time(call: TossCall, name: str) -> datetime:
    """`yyyy-MM-ddTHH:mm:ss` in Korean time (an offset is tolerated)."""
    text = call.query.get(name)
    if text is None:
        raise TossError("INVALID_REQUEST")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise TossError("INVALID_DATE") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=KST)


def _query_date(call: TossCall, name: str) -> date:
    text = call.query.get(name)
    if text is None:
        raise TossError("INVALID_REQUEST")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise TossError("INVALID_DATE") from None


def _limit(call: TossCall, name: str, *, maximum: int) -> int:
    text = call.query.get(name)
    if text is None:
        return choices.DEFAULT_LIST_LIMIT
    if not text.isdigit() or int(text) < 1:
        raise TossError("INVALID_REQUEST")
    if int(text) > maximum:
        raise TossError("EXCEED_MAX_QUERY_LIMIT")
    return int(text)


APIS = (
    Api("POST", "/v1/payments/confirm", confirm),
    Api("POST", "/v1/payments/key-in", key_in),
    Api("GET", "/v1/payments/orders/{orderId}", get_payment_by_order),
    Api("GET", "/v1/payments/{paymentKey}", get_payment),
    Api("POST", "/v1/payments/{paymentKey}/cancel", cancel, paced_by="paymentKey"),
    Api("POST", "/v1/virtual-accounts", issue_virtual_account),
    Api("POST", "/v1/billing/authorizations/issue", issue_billing_key),
    Api("POST", "/v1/billing/authorizations/card", register_card),
    Api("POST", "/v1/billing/{billingKey}", charge_billing_key),
    Api("DELETE", "/v1/billing/{billingKey}", delete_billing_key),
    Api("GET", "/v1/transactions", transactions),
    Api("GET", "/v1/settlements", settlements),
    Api("POST", "/v1/cash-receipts", issue_cash_receipt),
    Api("GET", "/v1/cash-receipts", list_cash_receipts),
    Api("POST", "/v1/cash-receipts/{receiptKey}/cancel", cancel_cash_receipt),
)


def toss_routes(runtime: SandboxRuntime) -> list[Route]:
    def endpoint(api: Api) -> Any:
        async def handle(request: Request) -> Response:
            return await serve_toss_call(runtime, request, api)

        return handle

    return [Route(api.path, endpoint(api), methods=[api.method]) for api in APIS]
