"""Request bodies. Unknown fields are refused (no mass assignment); amounts must be JSON integers.

The strict JSON parser has already refused control characters everywhere but tab and newline in
string values; a string that is not free text (`Token`) refuses those two as well.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

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


class ConfirmPaymentBody(Body):
    paymentKey: Annotated[Token, Field(min_length=1, max_length=200)]
    orderId: Annotated[StrictStr, Field(pattern=ORDER_ID)]
    amount: StrictInt


class RefundAccountBody(Body):
    bank: Annotated[Token, Field(min_length=1, max_length=20)]
    accountNumber: Annotated[StrictStr, Field(pattern=r"^[0-9]{1,20}$")]
    holderName: Annotated[StrictStr, Field(min_length=1, max_length=60)]


class CancelPaymentBody(Body):
    cancelReason: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    cancelAmount: StrictInt | None = None
    taxFreeAmount: StrictInt | None = None
    refundReceiveAccount: RefundAccountBody | None = None
