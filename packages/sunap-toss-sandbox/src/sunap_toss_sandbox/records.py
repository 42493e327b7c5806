"""What the sandbox remembers about payments and billing keys, and their 2022-11-16 JSON shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sunap_toss_sandbox import choices
from sunap_toss_sandbox.clock import toss_time
from sunap_toss_sandbox.vocabulary import CARD_ISSUERS, METHOD_NAMES, issuer_of, masked_card_number


def vat_of(amount: int, tax_free: int) -> int:
    """round((amount - taxFree) / 11), halves up, in integers."""
    return (2 * (amount - tax_free) + 11) // 22


@dataclass
class CancelRecord:
    amount: int
    reason: str
    tax_free_amount: int
    refundable_amount: int
    canceled_at: datetime
    transaction_key: str

    def to_json(self) -> dict[str, Any]:
        return {
            "cancelAmount": self.amount,
            "cancelReason": self.reason,
            "taxFreeAmount": self.tax_free_amount,
            "taxExemptionAmount": 0,
            "refundableAmount": self.refundable_amount,
            "cardDiscountAmount": 0,
            "transferDiscountAmount": 0,
            "easyPayDiscountAmount": 0,
            "canceledAt": toss_time(self.canceled_at),
            "transactionKey": self.transaction_key,
            "receiptKey": None,
            "cancelStatus": "DONE",
            "cancelRequestId": None,
        }


@dataclass
class PaymentRecord:
    """One payment in the merchant's books. Mutated only by `Merchant`."""

    payment_key: str
    order_id: str
    order_name: str
    method: str  # CARD, VIRTUAL_ACCOUNT, EASY_PAY, ... (see vocabulary.METHOD_NAMES)
    total_amount: int
    requested_at: datetime
    status: str
    type: str = "NORMAL"
    tax_free_amount: int = 0
    customer_key: str | None = None
    customer_name: str | None = None
    fail_with: str | None = None
    expires_at: datetime | None = None  # window deadline while READY / IN_PROGRESS
    approved_at: datetime | None = None
    card_number: str | None = None
    installment_months: int = 0
    approve_no: str | None = None
    virtual_account: dict[str, Any] | None = None
    due_at: datetime | None = None  # virtual account deadline
    secret: str | None = None
    cancels: list[CancelRecord] = field(default_factory=list)
    last_transaction_key: str | None = None
    approval_transaction_key: str | None = None  # what the receipt points at, cancels or not
    failure: dict[str, str] | None = None
    metadata: dict[str, Any] | None = None
    balance_amount: int = -1

    def __post_init__(self) -> None:
        if self.balance_amount < 0:
            self.balance_amount = self.total_amount

    def shows_method(self) -> bool:
        if self.status in ("READY", "EXPIRED"):
            return False
        return self.status != "IN_PROGRESS" or choices.METHOD_SHOWN_WHILE_IN_PROGRESS

    def to_json(self) -> dict[str, Any]:
        approved = self.approved_at is not None
        vat = vat_of(self.balance_amount, self.tax_free_amount)
        return {
            "mId": choices.MERCHANT_ID,
            "version": choices.API_VERSION,
            "lastTransactionKey": self.last_transaction_key,
            "paymentKey": self.payment_key,
            "orderId": self.order_id,
            "orderName": self.order_name,
            "taxExemptionAmount": 0,
            "status": self.status,
            "requestedAt": toss_time(self.requested_at),
            "approvedAt": toss_time(self.approved_at) if self.approved_at else None,
            "useEscrow": False,
            "cultureExpense": False,
            "card": self._card_json() if approved and self.method == "CARD" else None,
            "virtualAccount": dict(self.virtual_account) if self.virtual_account else None,
            "transfer": self._transfer_json() if approved else None,
            "mobilePhone": self._mobile_phone_json() if approved else None,
            "giftCertificate": None,
            "cashReceipt": None,
            "cashReceipts": None,
            "discount": None,
            "foreignEasyPay": None,
            "cancels": [cancel.to_json() for cancel in self.cancels] or None,
            "secret": self.secret,
            "type": self.type,
            "easyPay": self._easy_pay_json() if approved else None,
            "easyPayAmount": None,
            "easyPayDiscountAmount": None,
            "country": "KR",
            "failure": dict(self.failure) if self.failure else None,
            "isPartialCancelable": True,
            "receipt": {"url": self._receipt_url()} if self.approval_transaction_key else None,
            "checkout": {
                "url": f"https://api.tosspayments.com/v1/payments/{self.payment_key}/checkout"
            },
            "currency": "KRW",
            "totalAmount": self.total_amount,
            "balanceAmount": self.balance_amount,
            "suppliedAmount": self.balance_amount - self.tax_free_amount - vat,
            "vat": vat,
            "taxFreeAmount": self.tax_free_amount,
            "metadata": self.metadata,
            "method": METHOD_NAMES[self.method] if self.shows_method() else None,
            "transactionKey": None,
        }

    def _card_json(self) -> dict[str, Any]:
        number = self.card_number or choices.DEFAULT_CARD_NUMBER
        return {
            "issuerCode": issuer_of(number),
            "acquirerCode": choices.DEFAULT_CARD_ACQUIRER,
            "number": masked_card_number(number),
            "installmentPlanMonths": self.installment_months,
            "isInterestFree": False,
            "interestPayer": None,
            "approveNo": self.approve_no,
            "useCardPoint": False,
            "cardType": "신용",
            "ownerType": "개인",
            "acquireStatus": "CANCELED" if self.status == "CANCELED" else "READY",
            "amount": self.total_amount,
        }

    def _transfer_json(self) -> dict[str, Any] | None:
        if self.method != "TRANSFER":
            return None
        return {"bankCode": choices.DEFAULT_TRANSFER_BANK, "settlementStatus": "INCOMPLETED"}

    def _mobile_phone_json(self) -> dict[str, Any] | None:
        if self.method != "MOBILE_PHONE":
            return None
        return {
            "customerMobilePhone": "01000000000",
            "settlementStatus": "INCOMPLETED",
            "receiptUrl": self._receipt_url(),
        }

    def _easy_pay_json(self) -> dict[str, Any] | None:
        if self.method != "EASY_PAY":
            return None
        return {
            "provider": choices.DEFAULT_EASY_PAY_PROVIDER,
            "amount": self.total_amount,
            "discountAmount": 0,
        }

    def _receipt_url(self) -> str:
        return (
            "https://dashboard-sandbox.tosspayments.com/receipt/redirection"
            f"?transactionId={self.approval_transaction_key}&ref=PX"
        )


@dataclass
class BillingKeyRecord:
    billing_key: str
    customer_key: str
    card_number: str
    authenticated_at: datetime

    def to_json(self) -> dict[str, Any]:
        issuer = issuer_of(self.card_number)
        number = masked_card_number(self.card_number)
        return {
            "mId": choices.MERCHANT_ID,
            "customerKey": self.customer_key,
            "authenticatedAt": toss_time(self.authenticated_at),
            "method": "카드",
            "billingKey": self.billing_key,
            "card": {
                "issuerCode": issuer,
                "acquirerCode": choices.DEFAULT_CARD_ACQUIRER,
                "number": number,
                "cardType": "신용",
                "ownerType": "개인",
            },
            "cardCompany": CARD_ISSUERS.get(issuer),
            "cardNumber": number,
        }
