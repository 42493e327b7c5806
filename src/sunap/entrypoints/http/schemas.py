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
from sunap.application.gateway import RefundAccount
from sunap.domain.money import require_amount, require_currency, require_tax_free_amount
from sunap.domain.payment import PaymentMethod
from sunap.domain.return_urls import require_return_url

ORDER_ID = r"^[A-Za-z0-9\-_=]{6,64}$"
CUSTOMER_KEY = r"^[A-Za-z0-9\-_=.@]{2,300}$"

MethodName = Literal[
    "CARD", "VIRTUAL_ACCOUNT", "TRANSFER", "MOBILE_PHONE", "EASY_PAY", "GIFT_CERTIFICATE"
]
MetadataValue = Annotated[StrictStr, Field(max_length=2000)]
# One line: no tab, no newline.
Token = Annotated[StrictStr, Field(pattern=r"^[^\t\n]*$")]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreatePaymentBody(Body):
    orderName: Annotated[StrictStr, Field(min_length=1, max_length=100)]
    amount: StrictInt
    currency: Annotated[StrictStr, Field(min_length=3, max_length=3)] = "KRW"
    orderId: Annotated[StrictStr, Field(pattern=ORDER_ID)] | None = None
    customerKey: Annotated[StrictStr, Field(pattern=CUSTOMER_KEY)] | None = None
    method: MethodName | None = None
    successUrl: Annotated[StrictStr, Field(max_length=2048)] | None = None
    failUrl: Annotated[StrictStr, Field(max_length=2048)] | None = None
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
    amount: StrictInt

    def command(self, tenant_id: str) -> ConfirmPayment:
        return ConfirmPayment(
            tenant_id=tenant_id,
            payment_key=self.paymentKey,
            order_id=self.orderId,
            amount=require_amount(self.amount),
        )


class RefundAccountBody(Body):
    bank: Annotated[Token, Field(min_length=1, max_length=20)]
    accountNumber: Annotated[StrictStr, Field(pattern=r"^[0-9]{1,20}$")]
    holderName: Annotated[StrictStr, Field(min_length=1, max_length=60)]


class CancelPaymentBody(Body):
    cancelReason: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    cancelAmount: StrictInt | None = None
    taxFreeAmount: StrictInt | None = None
    refundReceiveAccount: RefundAccountBody | None = None

    def command(self, tenant_id: str, payment_id: str) -> CancelPayment:
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
            refund_account=None
            if account is None
            else RefundAccount(account.bank, account.accountNumber, account.holderName),
        )
