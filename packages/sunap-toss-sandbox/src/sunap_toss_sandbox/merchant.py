"""One merchant account's books: every payment and billing key, and every rule that changes them.

All methods are synchronous and never await, so each runs to completion inside the single event
loop before any other request is looked at: two concurrent confirms or cancels of one payment are
serialised by construction, which is what a per-payment lock would give us.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sunap_toss_sandbox import choices, identifiers
from sunap_toss_sandbox.cash_receipts import CashReceiptBook
from sunap_toss_sandbox.catalogue import TossError, Wording, message_for
from sunap_toss_sandbox.clock import SandboxClock, toss_time, webhook_created_at
from sunap_toss_sandbox.records import BillingKeyRecord, CancelRecord, PaymentRecord

Notify = Callable[[str, dict[str, Any]], None]

READY_WINDOW = timedelta(minutes=30)
IN_PROGRESS_WINDOW = timedelta(minutes=10)
MAX_DUE = timedelta(days=90)
_ORDER_TAKEN = frozenset({"DONE", "CANCELED", "PARTIAL_CANCELED", "WAITING_FOR_DEPOSIT"})
_CANCELABLE = frozenset({"DONE", "PARTIAL_CANCELED", "WAITING_FOR_DEPOSIT"})


@dataclass(frozen=True)
class RefundAccount:
    bank_code: str
    account_number: str
    holder_name: str


@dataclass(frozen=True)
class CancelPayment:
    reason: str
    amount: int | None  # None: the whole remaining balance
    tax_free_amount: int = 0
    refundable_amount: int | None = None
    refund_account: RefundAccount | None = None


@dataclass(frozen=True)
class IssueVirtualAccount:
    order_id: str
    amount: int
    order_name: str
    customer_name: str
    bank_code: str
    due_at: datetime | None
    valid_hours: int | None
    tax_free_amount: int = 0


@dataclass(frozen=True)
class ChargeBillingKey:
    customer_key: str
    order_id: str
    amount: int
    order_name: str
    tax_free_amount: int = 0
    installment_months: int = 0


@dataclass(frozen=True)
class KeyInPayment:
    order_id: str
    amount: int
    order_name: str
    card_number: str
    installment_months: int = 0
    tax_free_amount: int = 0
    customer_name: str | None = None


def check_card_amount(amount: int, installment_months: int) -> None:
    """Toss's floors for a card approval: the smallest amount, and the smallest for instalments."""
    if amount < choices.MINIMUM_AMOUNT_BY_METHOD["CARD"]:
        raise TossError("BELOW_MINIMUM_AMOUNT")
    if installment_months >= 2 and amount < choices.MINIMUM_INSTALLMENT_AMOUNT:
        raise TossError("NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN_BELOW_AMOUNT")


def check_tax_free_part(amount: int, tax_free_amount: int) -> None:
    """The tax-free part of an approval is part of its amount: more would make its VAT and
    supplied amount negative."""
    if tax_free_amount > amount:
        raise TossError("INVALID_REQUEST")


_NOT_A_VIRTUAL_ACCOUNT = Wording(
    "가상계좌 결제가 아니어서 입금할 수 없습니다.",
    "Only a virtual account takes a deposit: this payment is not one.",
)


def _not_waiting(status: str) -> TossError:
    """A deposit into a virtual account that is not waiting for one: the payment exists (it is
    not NOT_FOUND_PAYMENT), so the answer says what state it is in."""
    code = "ALREADY_COMPLETED_PAYMENT" if status == "DONE" else "ALREADY_CANCELED_PAYMENT"
    if status not in ("DONE", "CANCELED", "PARTIAL_CANCELED"):
        code = "INVALID_REQUEST"
    return TossError(
        code,
        wording=Wording(
            f"입금을 기다리는 가상계좌가 아닙니다 (결제 상태 {status}).",
            f"The virtual account is not waiting for a deposit: the payment is {status}.",
        ),
    )


class Merchant:
    def __init__(self, clock: SandboxClock, notify: Notify) -> None:
        self._clock = clock
        self._notify = notify
        self.payments: dict[str, PaymentRecord] = {}
        self._by_order: dict[str, PaymentRecord] = {}
        self.billing_keys: dict[str, BillingKeyRecord] = {}
        self._auth_keys: dict[str, tuple[str, str]] = {}  # authKey -> (customerKey, card number)
        self.cash_receipts = CashReceiptBook(clock)

    def reset(self) -> None:
        self.cash_receipts.reset()
        self.payments.clear()
        self._by_order.clear()
        self.billing_keys.clear()
        self._auth_keys.clear()

    # The payment window (control plane).

    def open_window(
        self,
        *,
        order_id: str,
        amount: int,
        order_name: str,
        method: str = "CARD",
        customer_key: str | None = None,
        fail_with: str | None = None,
        card_number: str | None = None,
        authenticated: bool = True,
    ) -> PaymentRecord:
        """A payment as the window leaves it: IN_PROGRESS (authenticated) or READY (still open)."""
        self._ensure_order_free(order_id)
        now = self._clock.now()
        payment = PaymentRecord(
            payment_key=identifiers.payment_key(),
            order_id=order_id,
            order_name=order_name,
            method=method,
            total_amount=amount,
            requested_at=now,
            status="IN_PROGRESS" if authenticated else "READY",
            customer_key=customer_key,
            fail_with=fail_with,
            card_number=card_number,
            expires_at=now + (IN_PROGRESS_WINDOW if authenticated else READY_WINDOW),
        )
        self._add(payment)
        return payment

    def open_window_for(self, order_id: str) -> PaymentRecord | None:
        """The still-open (READY) window of an order, so a page reload does not open another."""
        payment = self._by_order.get(order_id)
        return payment if payment is not None and payment.status == "READY" else None

    def authenticate(self, payment_key: str) -> PaymentRecord:
        """The customer approved in the window. The window's form sent twice (a double click, a
        resubmitted page) authenticates once and answers the same: the second post must not turn
        the first one's success into a failure."""
        payment = self._existing(payment_key)
        if payment.status == "IN_PROGRESS" and payment.expires_at is not None:
            return payment  # authenticated, not yet confirmed (a confirm clears the deadline)
        if payment.status != "READY":
            raise TossError(choices.CONFIRM_EXPIRED_SESSION_CODE)
        payment.status = "IN_PROGRESS"
        payment.expires_at = self._clock.now() + IN_PROGRESS_WINDOW
        return payment

    def deposit(self, payment_key: str) -> PaymentRecord:
        payment = self._existing(payment_key)
        account = payment.virtual_account
        if account is None:
            raise TossError("NOT_SUPPORTED_METHOD", wording=_NOT_A_VIRTUAL_ACCOUNT)
        if payment.status != "WAITING_FOR_DEPOSIT":
            raise _not_waiting(payment.status)
        if account["expired"]:
            raise TossError("FORBIDDEN_BANK_REFUND_REQUEST")
        payment.status = "DONE"
        payment.approved_at = self._clock.now()
        payment.last_transaction_key = identifiers.transaction_key()
        payment.approval_transaction_key = payment.last_transaction_key
        self._deposit_callback(payment)
        self._status_changed(payment)
        return payment

    def deposit_error(self, payment_key: str) -> PaymentRecord:
        """The bank takes a deposit back (입금 오류): DONE returns to WAITING_FOR_DEPOSIT."""
        payment = self._existing(payment_key)
        if payment.status != "DONE" or payment.virtual_account is None:
            raise TossError("NOT_CANCELABLE_PAYMENT")
        payment.status = "WAITING_FOR_DEPOSIT"
        payment.approved_at = None
        payment.approval_transaction_key = None
        payment.last_transaction_key = identifiers.transaction_key()
        self._deposit_callback(payment)
        if choices.DEPOSIT_ERROR_SENDS_STATUS_CHANGED:
            self._status_changed(payment)
        return payment

    def trigger(self, event_type: str, payment_key: str | None, body: dict[str, Any]) -> Any:
        """Sends a webhook on demand (like `stripe trigger`) and answers its body. A
        PAYMENT_STATUS_CHANGED with no paymentKey approves a fresh card payment to send."""
        if event_type == "PAYMENT_STATUS_CHANGED":
            payment = self._existing(payment_key) if payment_key else self._sample_payment(body)
            event = self._status_event(payment)
        elif event_type == "DEPOSIT_CALLBACK":
            payment = self._existing(payment_key or "")
            if payment.virtual_account is None:
                raise TossError("INVALID_REQUEST")
            event = self._deposit_event(payment)
        elif event_type == "CANCEL_STATUS_CHANGED":
            payment = self._existing(payment_key or "")
            if not payment.cancels:
                raise TossError("NOT_FOUND")
            event = {
                "eventType": event_type,
                "createdAt": webhook_created_at(self._clock.now()),
                "data": payment.cancels[-1].to_json(),
            }
        elif event_type == "BILLING_DELETED":
            billing_key = body.get("billingKey")
            event = self._billing_deleted_event(
                billing_key if isinstance(billing_key, str) else identifiers.billing_key()
            )
        else:
            raise TossError("INVALID_REQUEST")
        self._notify(event_type, event)
        return event

    def _sample_payment(self, body: dict[str, Any]) -> PaymentRecord:
        amount = body.get("amount", 10_000)
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 100:
            raise TossError("INVALID_REQUEST")
        payment = self.open_window(
            order_id="trigger-" + identifiers.transaction_key()[:16].lower(),
            amount=amount,
            order_name="웹훅 테스트 주문",
        )
        self._approve(payment)
        return payment

    def issue_auth_key(self, customer_key: str, card_number: str | None = None) -> str:
        key = identifiers.auth_key()
        self._auth_keys[key] = (customer_key, card_number or choices.DEFAULT_CARD_NUMBER)
        return key

    # Look-ups.

    def payment(self, payment_key: str) -> PaymentRecord:
        return self._visible(self.payments.get(payment_key))

    def payment_by_order(self, order_id: str) -> PaymentRecord:
        return self._visible(self._by_order.get(order_id))

    # Toss API changes.

    def confirm(self, payment_key: str, order_id: str, amount: int) -> PaymentRecord:
        payment = self.payments.get(payment_key)
        if payment is None:
            raise TossError(choices.CONFIRM_UNKNOWN_PAYMENT_CODE)
        if payment.status in ("READY", "EXPIRED"):
            raise TossError(choices.CONFIRM_EXPIRED_SESSION_CODE)
        if payment.status != "IN_PROGRESS":
            raise TossError("ALREADY_PROCESSED_PAYMENT")
        if payment.order_id != order_id or payment.total_amount != amount:
            raise TossError(choices.CONFIRM_MISMATCH_CODE)
        self._ensure_order_free(order_id)  # another window's payment of the order was approved
        minimum = choices.MINIMUM_AMOUNT_BY_METHOD.get(payment.method, 1)
        if amount < minimum:  # refused before anything changes: the payment stays IN_PROGRESS
            raise TossError("BELOW_MINIMUM_AMOUNT")
        payment.expires_at = None
        if payment.fail_with is not None:
            payment.status = "ABORTED"
            payment.failure = {
                "code": payment.fail_with,
                "message": message_for(payment.fail_with, english=False),
            }
            self._status_changed(payment)
            raise TossError(payment.fail_with)
        if payment.method == "VIRTUAL_ACCOUNT":
            due_at = self._clock.now() + timedelta(hours=choices.DEFAULT_VALID_HOURS)
            self._open_account(payment, choices.DEFAULT_VIRTUAL_ACCOUNT_BANK, "김토스", due_at)
            return payment
        self._approve(payment)
        self._status_changed(payment)
        return payment

    def cancel(self, payment_key: str, request: CancelPayment) -> PaymentRecord:
        payment = self._existing(payment_key)
        if payment.status == "CANCELED":
            raise TossError("ALREADY_CANCELED_PAYMENT")
        if payment.status not in _CANCELABLE:
            raise TossError("NOT_CANCELABLE_PAYMENT")
        balance = payment.balance_amount
        if request.refundable_amount is not None and request.refundable_amount != balance:
            raise TossError("NOT_MATCHES_REFUNDABLE_AMOUNT")
        amount = balance if request.amount is None else request.amount
        if amount > balance:
            raise TossError("NOT_CANCELABLE_AMOUNT")
        waiting = payment.status == "WAITING_FOR_DEPOSIT"
        if waiting and amount != balance:
            raise TossError("NOT_ALLOWED_PARTIAL_REFUND_WAITING_DEPOSIT")
        paid_account = payment.virtual_account is not None and not waiting
        if paid_account and request.refund_account is None:
            raise TossError(choices.MISSING_REFUND_ACCOUNT_CODE)
        if request.tax_free_amount > amount:
            raise TossError("INVALID_REQUEST")
        tax_free_left = payment.tax_free_amount
        if request.tax_free_amount > tax_free_left:
            raise TossError(choices.TAX_FREE_OVER_WHAT_IS_LEFT_CODE)

        first_cancel = not payment.cancels
        payment.balance_amount = balance - amount
        # The tax-free part never exceeds the balance: a full cancel takes all that is left of
        # it, and a cancel that names less than it must takes the rest (choices.py).
        payment.tax_free_amount = min(
            tax_free_left - request.tax_free_amount, payment.balance_amount
        )
        transaction = identifiers.transaction_key()
        payment.cancels.append(
            CancelRecord(
                amount=amount,
                reason=request.reason,
                tax_free_amount=tax_free_left - payment.tax_free_amount,
                refundable_amount=payment.balance_amount,
                canceled_at=self._clock.now(),
                transaction_key=transaction,
            )
        )
        payment.last_transaction_key = transaction
        fully = payment.balance_amount == 0 and (first_cancel or choices.ZERO_BALANCE_IS_CANCELED)
        payment.status = "CANCELED" if fully else "PARTIAL_CANCELED"
        if paid_account and payment.virtual_account is not None and request.refund_account:
            payment.virtual_account["refundStatus"] = choices.REFUND_STATUS_AFTER_CANCEL
            payment.virtual_account["refundReceiveAccount"] = {
                "bankCode": request.refund_account.bank_code,
                "accountNumber": request.refund_account.account_number,
                "holderName": request.refund_account.holder_name,
            }
        if payment.virtual_account is not None:
            self._deposit_callback(payment)
        self._status_changed(payment)
        return payment

    def issue_virtual_account(self, request: IssueVirtualAccount) -> PaymentRecord:
        check_tax_free_part(request.amount, request.tax_free_amount)
        self._ensure_order_free(request.order_id)
        now = self._clock.now()
        hours = request.valid_hours or choices.DEFAULT_VALID_HOURS
        if hours > choices.MAX_VALID_HOURS:
            raise TossError("EXCEED_MAX_VALID_HOURS")
        due_at = request.due_at or now + timedelta(hours=hours)
        if due_at <= now:
            raise TossError("INVALID_DATE")
        if due_at > now + MAX_DUE:
            raise TossError("EXCEED_MAX_DUE_DATE")
        payment = PaymentRecord(
            payment_key=identifiers.payment_key(),
            order_id=request.order_id,
            order_name=request.order_name,
            method="VIRTUAL_ACCOUNT",
            total_amount=request.amount,
            requested_at=now,
            status="READY",
            tax_free_amount=request.tax_free_amount,
            customer_name=request.customer_name,
        )
        self._add(payment)
        self._open_account(payment, request.bank_code, request.customer_name, due_at)
        return payment

    def issue_billing_key(self, auth_key: str, customer_key: str) -> BillingKeyRecord:
        issued = self._auth_keys.get(auth_key)
        if issued is None:
            raise TossError(choices.UNKNOWN_AUTH_KEY_CODE)
        if issued[0] != customer_key:
            raise TossError("NOT_MATCHES_CUSTOMER_KEY")
        del self._auth_keys[auth_key]  # an authKey is good for one billing key only
        return self.register_card(customer_key, issued[1])

    def register_card(self, customer_key: str, card_number: str) -> BillingKeyRecord:
        record = BillingKeyRecord(
            billing_key=identifiers.billing_key(),
            customer_key=customer_key,
            card_number=card_number,
            authenticated_at=self._clock.now(),
        )
        self.billing_keys[record.billing_key] = record
        return record

    def charge(self, billing_key: str, request: ChargeBillingKey) -> PaymentRecord:
        billing = self.billing_keys.get(billing_key)
        if billing is None:
            raise TossError(choices.UNKNOWN_BILLING_KEY_CODE)
        if billing.customer_key != request.customer_key:
            raise TossError("NOT_MATCHES_CUSTOMER_KEY")
        check_card_amount(request.amount, request.installment_months)
        check_tax_free_part(request.amount, request.tax_free_amount)
        self._ensure_order_free(request.order_id)
        now = self._clock.now()
        payment = PaymentRecord(
            payment_key=identifiers.payment_key(),
            order_id=request.order_id,
            order_name=request.order_name,
            method="CARD",
            type="BILLING",
            total_amount=request.amount,
            requested_at=now,
            status="IN_PROGRESS",
            tax_free_amount=request.tax_free_amount,
            customer_key=request.customer_key,
            card_number=billing.card_number,
            installment_months=request.installment_months,
        )
        self._add(payment)
        self._approve(
            payment
        )  # no PAYMENT_STATUS_CHANGED for billing approvals (docs/toss.md, Webhooks)
        return payment

    def delete_billing_key(self, billing_key: str) -> None:
        if self.billing_keys.pop(billing_key, None) is None:
            raise TossError(choices.UNKNOWN_BILLING_KEY_CODE)
        self._notify("BILLING_DELETED", self._billing_deleted_event(billing_key))

    def key_in(self, request: KeyInPayment) -> PaymentRecord:
        check_card_amount(request.amount, request.installment_months)
        check_tax_free_part(request.amount, request.tax_free_amount)
        self._ensure_order_free(request.order_id)
        payment = PaymentRecord(
            payment_key=identifiers.payment_key(),
            order_id=request.order_id,
            order_name=request.order_name,
            method="CARD",
            total_amount=request.amount,
            requested_at=self._clock.now(),
            status="IN_PROGRESS",
            tax_free_amount=request.tax_free_amount,
            customer_name=request.customer_name,
            card_number=request.card_number,
            installment_months=request.installment_months,
        )
        self._add(payment)
        self._approve(payment)
        self._status_changed(payment)
        return payment

    # Time.

    def tick(self) -> None:
        """Lets due timers fire: open windows expire, virtual accounts pass their due date."""
        now = self._clock.now()
        for payment in list(self.payments.values()):
            deadline = payment.expires_at
            if payment.status in ("READY", "IN_PROGRESS") and deadline and deadline <= now:
                self._expire(payment)
            account = payment.virtual_account
            if (
                account is not None
                and payment.status == "WAITING_FOR_DEPOSIT"
                and not account["expired"]
                and payment.due_at is not None
                and payment.due_at <= now
            ):
                account["expired"] = (
                    True  # status unchanged and no webhook (docs/toss.md, Payment statuses)
                )

    # Inside.

    def _add(self, payment: PaymentRecord) -> None:
        self.payments[payment.payment_key] = payment
        self._index_order(payment)

    def _index_order(self, payment: PaymentRecord) -> None:
        """An orderId names its approved payment once there is one (look-ups by orderId, and
        `_ensure_order_free`), else its latest window."""
        existing = self._by_order.get(payment.order_id)
        if existing is None or existing is payment or existing.status not in _ORDER_TAKEN:
            self._by_order[payment.order_id] = payment

    def _existing(self, payment_key: str) -> PaymentRecord:
        payment = self.payments.get(payment_key)
        if payment is None:
            raise TossError("NOT_FOUND_PAYMENT")
        return payment

    def _visible(self, payment: PaymentRecord | None) -> PaymentRecord:
        if payment is None or (payment.status == "READY" and not choices.READY_IS_VISIBLE):
            raise TossError("NOT_FOUND_PAYMENT")
        return payment

    def _ensure_order_free(self, order_id: str) -> None:
        existing = self._by_order.get(order_id)
        if existing is not None and existing.status in _ORDER_TAKEN:
            raise TossError("DUPLICATED_ORDER_ID")

    def _approve(self, payment: PaymentRecord) -> None:
        self._by_order[payment.order_id] = payment
        payment.status = "DONE"
        payment.approved_at = self._clock.now()
        payment.approve_no = identifiers.approve_number()
        payment.last_transaction_key = identifiers.transaction_key()
        payment.approval_transaction_key = payment.last_transaction_key
        payment.expires_at = None

    def _open_account(
        self, payment: PaymentRecord, bank_code: str, customer_name: str, due_at: datetime
    ) -> None:
        self._by_order[payment.order_id] = payment
        payment.status = "WAITING_FOR_DEPOSIT"
        payment.due_at = due_at
        payment.secret = identifiers.deposit_secret()
        payment.last_transaction_key = identifiers.transaction_key()
        payment.virtual_account = {
            "accountType": "일반",
            "accountNumber": identifiers.test_account_number(),
            "bankCode": bank_code,
            "customerName": customer_name,
            "depositorName": customer_name,
            "dueDate": toss_time(due_at),
            "refundStatus": "NONE",
            "expired": False,
            "settlementStatus": "INCOMPLETED",
            "refundReceiveAccount": None,
        }
        self._deposit_callback(payment)

    def _expire(self, payment: PaymentRecord) -> None:
        payment.status = "EXPIRED"
        payment.expires_at = None
        payment.failure = {
            "code": "EXPIRED_PAYMENT",
            "message": message_for("EXPIRED_PAYMENT", english=False),
        }
        self._status_changed(payment)

    def _status_changed(self, payment: PaymentRecord) -> None:
        if payment.type == "BILLING" and payment.status == "DONE":
            return
        if payment.virtual_account is not None and not choices.VIRTUAL_ACCOUNT_SENDS_STATUS_CHANGED:
            return
        self._notify("PAYMENT_STATUS_CHANGED", self._status_event(payment))

    def _status_event(self, payment: PaymentRecord) -> dict[str, Any]:
        return {
            "eventType": "PAYMENT_STATUS_CHANGED",
            "createdAt": webhook_created_at(self._clock.now()),
            "data": payment.to_json(),
        }

    def _deposit_callback(self, payment: PaymentRecord) -> None:
        self._notify("DEPOSIT_CALLBACK", self._deposit_event(payment))

    def _deposit_event(self, payment: PaymentRecord) -> dict[str, Any]:
        # Flat body, no eventType/data (docs/toss.md, Webhooks).
        return {
            "createdAt": webhook_created_at(self._clock.now()),
            "secret": payment.secret,
            "status": payment.status,
            "transactionKey": payment.last_transaction_key,
            "orderId": payment.order_id,
        }

    def _billing_deleted_event(self, billing_key: str) -> dict[str, Any]:
        return {
            "eventType": "BILLING_DELETED",
            "createdAt": webhook_created_at(self._clock.now()),
            "data": {"billingKey": billing_key, "reason": choices.BILLING_DELETED_REASON},
        }
