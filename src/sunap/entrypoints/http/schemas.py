"""Request bodies. Unknown fields are refused (no mass assignment); amounts must be JSON integers.

These are the API's request rules for both doors: the gRPC door maps each message onto the same
body, so a rule (a length, a pattern, an amount's range) is written once, here. `command` turns a
valid body into the use case's command.

The strict JSON parser has already refused control characters everywhere but tab and newline in
string values; a string that is not free text (`Token`) refuses those two as well.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from sunap.application.commands import CancelPayment, ConfirmPayment, CreatePayment
from sunap.application.ports.gateway import RefundAccount
from sunap.domain.errors import InvalidRequest
from sunap.domain.money import (
    MAX_AMOUNT,
    SUPPORTED_CURRENCIES,
    require_amount,
    require_currency,
    require_tax_free_amount,
)
from sunap.domain.payment import PaymentMethod
from sunap.domain.return_urls import require_return_url

ORDER_ID = r"^[A-Za-z0-9\-_=]{6,64}$"
CUSTOMER_KEY = r"^[A-Za-z0-9\-_=.@]{2,300}$"

# The longest filters of the payments list: query parameters over HTTP, ListPaymentsRequest's
# fields over gRPC.
MAX_ORDER_ID_FILTER, MAX_CUSTOMER_KEY_FILTER, MAX_CURSOR = 64, 300, 512

MethodName = Literal[
    "CARD", "VIRTUAL_ACCOUNT", "TRANSFER", "MOBILE_PHONE", "EASY_PAY", "GIFT_CERTIFICATE"
]
MetadataValue = Annotated[StrictStr, Field(max_length=2000)]
# One line: no tab, no newline (the strict parser has refused every other control character).
Token = Annotated[StrictStr, Field(pattern=r"^[^\x00-\x1f\x7f-\x9f]*$")]
# The ranges that require_amount and friends check, written into the OpenAPI document (the
# checks themselves stay in the domain, with their own messages).
Amount = Annotated[StrictInt, Field(json_schema_extra={"minimum": 1, "maximum": MAX_AMOUNT})]
TaxFreeAmount = Annotated[StrictInt, Field(json_schema_extra={"minimum": 0, "maximum": MAX_AMOUNT})]
# What is_return_url takes: an absolute http(s) URL with a host, no space and no backslash.
ReturnUrl = Annotated[
    StrictStr,
    Field(
        max_length=2048,
        json_schema_extra={
            "pattern": r"^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9][A-Za-z0-9.-]*(:[0-9]{1,4})?"
            r"([/?#][!-\[\]-~]*)?$",
            "examples": ["https://shop.example/orders/success"],
        },
    ),
]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreatePaymentBody(Body):
    orderName: Annotated[StrictStr, Field(min_length=1, max_length=100)]
    amount: Amount
    currency: Annotated[
        StrictStr,
        Field(min_length=3, max_length=3, json_schema_extra={"enum": sorted(SUPPORTED_CURRENCIES)}),
    ] = "KRW"
    orderId: Annotated[StrictStr, Field(pattern=ORDER_ID)] | None = None
    customerKey: Annotated[StrictStr, Field(pattern=CUSTOMER_KEY)] | None = None
    method: MethodName | None = None
    successUrl: ReturnUrl | None = None
    failUrl: ReturnUrl | None = None
    metadata: (
        Annotated[dict[Annotated[str, Field(max_length=40)], MetadataValue], Field(max_length=5)]
        | None
    ) = None

    def command(self, tenant_id: str, pg_account_id: str) -> CreatePayment:
        return CreatePayment(
            tenant_id=tenant_id,
            pg_account_id=pg_account_id,
            order_name=self.orderName,
            amount=require_amount(self.amount),
            currency=require_currency(self.currency),
            order_id=self.orderId,
            customer_key=self.customerKey,
            method=PaymentMethod(self.method) if self.method else None,
            success_url=require_return_url(self.successUrl, "successUrl"),
            fail_url=require_return_url(self.failUrl, "failUrl"),
            metadata=self.metadata,
        )


class ConfirmPaymentBody(Body):
    paymentKey: Annotated[Token, Field(min_length=1, max_length=200)]
    orderId: Annotated[StrictStr, Field(pattern=ORDER_ID)]
    amount: Amount

    def command(self, tenant_id: str) -> ConfirmPayment:
        return ConfirmPayment(
            tenant_id=tenant_id,
            payment_key=self.paymentKey,
            order_id=self.orderId,
            amount=require_amount(self.amount),
        )


def list_filter(value: str, most: int, field: str) -> str | None:
    """A list filter over gRPC (empty: not given), held to HTTP's length (FastAPI checks it
    there)."""
    if len(value) > most:
        raise InvalidRequest(f"{field} must be at most {most} characters.")
    return value or None


class RefundAccountBody(Body):
    bank: Annotated[Token, Field(min_length=1, max_length=20)]
    accountNumber: Annotated[StrictStr, Field(pattern=r"^[0-9]{1,20}$")]
    holderName: Annotated[StrictStr, Field(min_length=1, max_length=60)]

    def account(self) -> RefundAccount:
        return RefundAccount(self.bank, self.accountNumber, self.holderName)


class CancelPaymentBody(Body):
    cancelReason: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    cancelAmount: Amount | None = None
    taxFreeAmount: TaxFreeAmount | None = None
    refundReceiveAccount: RefundAccountBody | None = None

    def command(self, tenant_id: str, payment_id: str) -> CancelPayment:
        if self.cancelAmount is None and "cancelAmount" in self.model_fields_set:
            # An amount left unset by a bug must not refund the whole payment.
            raise InvalidRequest(
                "cancelAmount is null: send the amount to refund, or leave the field out to "
                "cancel the whole balance."
            )
        account = self.refundReceiveAccount
        return CancelPayment(
            tenant_id=tenant_id,
            payment_id=payment_id,
            reason=self.cancelReason,
            amount=None
            if self.cancelAmount is None
            else require_amount(self.cancelAmount, "cancelAmount"),
            tax_free_amount=None
            if self.taxFreeAmount is None
            else require_tax_free_amount(self.taxFreeAmount),
            refund_account=None if account is None else account.account(),
        )
