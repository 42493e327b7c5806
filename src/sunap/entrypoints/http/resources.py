"""The shapes of what the API answers, for the OpenAPI document only.

Answers are built by application/presenters.py as plain dicts; these models describe those dicts
(docs/api.md, "Payments") so that generated clients and the fuzzer know what to expect. Every
field the presenter writes is here, nullable where it can be null; more fields may be added, so
no model forbids extra ones.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

PaymentStatusName = Literal[
    "READY",
    "IN_PROGRESS",
    "WAITING_FOR_DEPOSIT",
    "DONE",
    "PARTIAL_CANCELED",
    "CANCELED",
    "ABORTED",
    "EXPIRED",
]
MethodName = Literal[
    "CARD", "VIRTUAL_ACCOUNT", "TRANSFER", "MOBILE_PHONE", "EASY_PAY", "GIFT_CERTIFICATE"
]


class ErrorBody(BaseModel):
    """Every non-2xx answer. Some add `pgCode`, `pgMessage` (Toss's own) and `payment`."""

    code: str = Field(examples=["INVALID_REQUEST"], pattern=r"^[A-Z][A-Z0-9_]*$")
    message: str = Field(examples=["amount: Input should be a valid integer"])
    pgCode: str | None = None
    pgMessage: str | None = None
    payment: PaymentResource | None = None


class Card(BaseModel):
    company: str | None
    number: str | None = Field(
        description="Masked as Toss masks it.", examples=["43301234****123*"]
    )
    cardType: str | None
    ownerType: str | None
    installmentPlanMonths: int | None
    approveNo: str | None


class VirtualAccount(BaseModel):
    bank: str | None
    accountNumber: str | None
    customerName: str | None
    dueDate: str | None


class EasyPay(BaseModel):
    provider: str | None
    amount: int | None
    discountAmount: int | None


class CancelRecord(BaseModel):
    cancelAmount: int
    cancelReason: str | None
    canceledAt: str | None
    transactionKey: str | None


class Failure(BaseModel):
    code: str | None
    message: str | None


class Checkout(BaseModel):
    url: str | None
    successUrl: str | None
    failUrl: str | None
    customerKey: str | None


class PaymentResource(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "pay_01JD6Q3W4C8V2N7M5X9R0T1YZA",
                    "orderId": "order-20260101-0001",
                    "orderName": "생수 외 1건",
                    "status": "DONE",
                    "amount": 15000,
                    "balanceAmount": 15000,
                    "currency": "KRW",
                    "method": "CARD",
                    "paymentKey": "tgen_20260101ab12cd34ef56",
                    "customerKey": None,
                    "metadata": None,
                    "requestedAt": "2026-01-01T10:00:00.000+09:00",
                    "approvedAt": "2026-01-01T10:00:05.000+09:00",
                    "createdAt": "2026-01-01T01:00:00.000+00:00",
                    "updatedAt": "2026-01-01T01:00:05.000+00:00",
                    "card": {
                        "company": "현대",
                        "number": "43301234****123*",
                        "cardType": "신용",
                        "ownerType": "개인",
                        "installmentPlanMonths": 0,
                        "approveNo": "00000000",
                    },
                    "virtualAccount": None,
                    "easyPay": None,
                    "cancels": [],
                    "failure": None,
                    "receiptUrl": "https://dashboard.tosspayments.com/receipt/redirection",
                    "checkout": None,
                    "needsReview": False,
                    "reviewReason": None,
                    "pendingCancelAmount": 0,
                }
            ]
        }
    )

    id: str
    orderId: str
    orderName: str
    status: PaymentStatusName
    amount: int
    balanceAmount: int
    currency: str
    method: MethodName | None
    paymentKey: str | None
    customerKey: str | None
    metadata: dict[str, str] | None
    requestedAt: str | None
    approvedAt: str | None
    createdAt: str | None
    updatedAt: str | None
    card: Card | None
    virtualAccount: VirtualAccount | None
    easyPay: EasyPay | None
    cancels: list[CancelRecord]
    failure: Failure | None
    receiptUrl: str | None
    checkout: Checkout | None
    needsReview: bool
    reviewReason: str | None
    pendingCancelAmount: int


class PaymentPage(BaseModel):
    items: list[PaymentResource]
    nextCursor: str | None


class BillingCard(BaseModel):
    company: str | None
    number: str | None = Field(description="Masked by Toss.", examples=["43301234****123*"])
    cardType: str | None
    ownerType: str | None


class BillingKeyResource(BaseModel):
    """A billing key as merchants see it: never the PG's key (docs/billing.md, "Billing keys")."""

    id: str
    customerKey: str
    method: str | None
    card: BillingCard | None
    status: Literal["ACTIVE", "DELETED"]
    createdAt: str | None
    deletedAt: str | None


class BillingKeyPage(BaseModel):
    items: list[BillingKeyResource]
    nextCursor: str | None


class SubscriptionResource(BaseModel):
    id: str
    customerKey: str
    billingKeyId: str
    plan: str
    orderName: str
    amount: int
    currency: str
    interval: str = Field(examples=["month"])
    intervalCount: int
    status: str = Field(examples=["ACTIVE"])
    currentPeriodStart: str | None
    currentPeriodEnd: str | None
    nextChargeAt: str | None
    trialEnd: str | None
    cancelAtPeriodEnd: bool
    canceledAt: str | None
    cancelReason: str | None
    failedAttempts: int
    latestPaymentId: str | None
    metadata: dict[str, Any] | None
    createdAt: str | None
    updatedAt: str | None


class SubscriptionPage(BaseModel):
    items: list[SubscriptionResource]
    nextCursor: str | None


class AuditEntryResource(BaseModel):
    id: str
    type: str = Field(examples=["pg.confirm"])
    status: str = Field(examples=["ok"])
    requestData: Any = Field(description="What was sent, secrets redacted.")
    responseData: Any = Field(description="What came back, secrets redacted.")
    processingTimeMs: int | None
    createdAt: str | None


class AuditTrail(BaseModel):
    items: list[AuditEntryResource]


class WebhookReceipt(BaseModel):
    received: bool
    duplicate: bool
    deliveryId: str | None


class Status(BaseModel):
    status: str = Field(examples=["ok"])


ErrorBody.model_rebuild()
