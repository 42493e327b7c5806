"""A tiny Toss in memory, behind the PaymentGateway port.

It keeps payments with balances and cancels the way Toss does, replays a repeated
Idempotency-Key with the first answer (Toss scopes a key to the URL and method, not the body),
records every call, and misbehaves on request:

- `fail_next(op, error)`: the next `op` call raises `error` and changes nothing (a refused
  connection, a 5xx before Toss did anything). It is not remembered under the key.
- `apply_then_fail(op)`: the next `op` call is applied and its answer lost:
  GatewayUnknown(timed_out=True). A retry with the same key gets the first answer.
- `hold(op)`: the next `op` call waits at a gate until the test releases it, to line up
  concurrent callers.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sunap.application.ports.gateway import (
    BillingAuthorization,
    GatewayAlreadyProcessed,
    GatewayCancel,
    GatewayDeclined,
    GatewayError,
    GatewayExchange,
    GatewayMisconfigured,
    GatewayNotFound,
    GatewayPayment,
    GatewayUnknown,
    PgOperation,
    PgOutcome,
    RefundAccount,
)
from sunap.application.ports.system import Clock
from sunap.domain.payment import (
    CardDetails,
    Failure,
    PaymentMethod,
    PaymentStatus,
    VirtualAccountDetails,
)

S = PaymentStatus
CONFIRM = "confirm"
CANCEL = "cancel"
LOOKUP = "lookup"
BILLING_ISSUE = "billing.issue"
BILLING_CHARGE = "billing.charge"
BILLING_DELETE = "billing.delete"
OPERATIONS = frozenset({CONFIRM, CANCEL, LOOKUP, BILLING_ISSUE, BILLING_CHARGE, BILLING_DELETE})

# Toss's Korean messages are not what a test asserts on; the codes are.
DECLINE_MESSAGES = {
    "REJECT_CARD_PAYMENT": "한도초과 혹은 잔액부족으로 결제에 실패했습니다.",
    "INVALID_STOPPED_CARD": "정지된 카드 입니다.",
}


@dataclass(frozen=True)
class GatewayCall:
    """One request as Toss received it."""

    operation: str
    idempotency_key: str | None
    payment_key: str | None = None
    order_id: str | None = None
    amount: int | None = None


class Gate:
    """Holds one call until the test releases it."""

    def __init__(self) -> None:
        self.arrived = asyncio.Event()
        self._open = asyncio.Event()

    def release(self) -> None:
        self._open.set()

    async def pass_through(self) -> None:
        self.arrived.set()
        await self._open.wait()


@dataclass(frozen=True)
class _Fault:
    error: GatewayError | None  # None: apply, then lose the answer
    after_apply: bool


VIRTUAL_ACCOUNT_VALID_FOR = timedelta(hours=168)  # Toss's default validHours


@dataclass
class _TossPayment:
    payment_key: str
    order_id: str
    order_name: str
    amount: int
    method: PaymentMethod
    status: PaymentStatus
    balance: int
    requested_at: datetime
    fail_with: str | None = None
    approved_at: datetime | None = None
    failure: Failure | None = None
    card: CardDetails | None = None
    virtual_account: VirtualAccountDetails | None = None
    secret: str | None = None
    cancels: list[GatewayCancel] = field(default_factory=list)
    last_transaction_key: str | None = None
    account_expired: bool = False


@dataclass
class _BillingKey:
    billing_key: str
    customer_key: str
    card: CardDetails


class FakeGateway:
    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock
        self.down = False  # set True to play an open circuit breaker
        self.key_id = "key-1"  # the secret key calls go under: `replace_key` plays a new one
        self._payments: dict[str, _TossPayment] = {}
        self._by_order: dict[str, str] = {}
        self._auth_keys: dict[str, str] = {}  # authKey -> customerKey
        self._billing: dict[str, _BillingKey] = {}
        self._answers: dict[
            tuple[str, str, str], GatewayPayment | BillingAuthorization | GatewayError
        ]
        self._answers = {}
        self._faults: dict[str, deque[_Fault]] = defaultdict(deque)
        self._gates: dict[str, deque[Gate]] = defaultdict(deque)
        self._observers: list[Callable[[GatewayCall], None]] = []
        self._serial = itertools.count(1)
        self.calls: list[GatewayCall] = []
        self.applied: list[GatewayCall] = []  # calls that changed Toss's state

    # -- what the customer does -------------------------------------------------------------

    def accepts_new_operations(self) -> bool:
        return not self.down

    def replace_key(self) -> None:
        """The merchant replaced the account's secret key: the same payments, but Toss keeps
        Idempotency-Keys per secret key, so a key sent before is new under this one."""
        self.key_id = f"key-{int(self.key_id.removeprefix('key-')) + 1}"

    def pay_in_window(
        self,
        order_id: str,
        amount: int,
        method: PaymentMethod = PaymentMethod.CARD,
        fail_with: str | None = None,
        *,
        order_name: str = "order",
    ) -> str:
        """The customer authenticated in the payment window: an IN_PROGRESS payment at Toss.
        With `fail_with` (a Toss code) its confirm will be refused with that code."""
        payment_key = f"tpk_{next(self._serial):08d}"
        self._payments[payment_key] = _TossPayment(
            payment_key=payment_key,
            order_id=order_id,
            order_name=order_name,
            amount=amount,
            method=method,
            status=S.IN_PROGRESS,
            balance=amount,
            requested_at=self._now(),
            fail_with=fail_with,
        )
        self._by_order[order_id] = payment_key
        return payment_key

    def deposit(self, payment_key: str) -> None:
        """The customer paid into the virtual account."""
        payment = self._payments[payment_key]
        assert payment.status is S.WAITING_FOR_DEPOSIT, payment.status
        payment.status = S.DONE

    def deposit_error(self, payment_key: str) -> None:
        """The bank reported the deposit in error: Toss takes it back (DONE -> WAITING)."""
        payment = self._payments[payment_key]
        assert payment.status is S.DONE, payment.status
        payment.status = S.WAITING_FOR_DEPOSIT

    def expire(self, payment_key: str) -> None:
        """Time runs out: a virtual account stays WAITING_FOR_DEPOSIT, flagged expired, as at
        Toss; any other payment becomes EXPIRED."""
        payment = self._payments[payment_key]
        if payment.status is S.WAITING_FOR_DEPOSIT:
            payment.account_expired = True
            return
        payment.status = S.EXPIRED
        payment.failure = Failure("EXPIRED_PAYMENT", "결제가 만료되었습니다. 다시 시도해주세요.")

    def register_card(self, customer_key: str) -> str:
        """What card registration hands back: an authKey to issue a billing key with."""
        auth_key = f"auth_{next(self._serial):08d}"
        self._auth_keys[auth_key] = customer_key
        return auth_key

    def delete_billing_keys_of(self, customer_key: str) -> None:
        """The customer's billing keys deleted at Toss with Sunap none the wiser (its
        BILLING_DELETED webhook lost): a charge of one is refused NOT_FOUND_BILLING."""
        for billing_key in [k for k, b in self._billing.items() if b.customer_key == customer_key]:
            del self._billing[billing_key]

    # -- scripting ----------------------------------------------------------------------------
    def fail_next(self, operation: str, error: GatewayError, times: int = 1) -> None:
        self._check(operation)
        self._faults[operation].extend(_Fault(error, after_apply=False) for _ in range(times))

    def apply_then_fail(self, operation: str, times: int = 1) -> None:
        self._check(operation)
        self._faults[operation].extend(_Fault(None, after_apply=True) for _ in range(times))

    def hold(self, operation: str) -> Gate:
        self._check(operation)
        gate = Gate()
        self._gates[operation].append(gate)
        return gate

    def on_call(self, observer: Callable[[GatewayCall], None]) -> None:
        """Run `observer` as each call arrives, before Toss does anything with it."""
        self._observers.append(observer)

    # -- inspection -----------------------------------------------------------------------------
    def calls_of(self, operation: str) -> list[GatewayCall]:
        return [c for c in self.calls if c.operation == operation]

    def applied_of(self, operation: str) -> list[GatewayCall]:
        return [c for c in self.applied if c.operation == operation]

    def payment(self, payment_key: str) -> GatewayPayment:
        """Toss's view of a payment, as a lookup would answer, without recording a call."""
        return self._view(self._payments[payment_key])

    def deposit_secret(self, payment_key: str) -> str | None:
        return self._payments[payment_key].secret

    # -- PaymentGateway -----------------------------------------------------------------------
    async def confirm(
        self, *, payment_key: str, order_id: str, amount: int, idempotency_key: str
    ) -> GatewayPayment:
        call = GatewayCall(CONFIRM, idempotency_key, payment_key, order_id, amount)
        request = {"paymentKey": payment_key, "orderId": order_id, "amount": amount}
        answer = await self._serve(
            call, "/v1/payments/confirm", request, lambda: self._confirm(call)
        )
        assert isinstance(answer, GatewayPayment)
        return answer

    async def lookup_by_order_id(self, order_id: str) -> GatewayPayment:
        call = GatewayCall(LOOKUP, None, order_id=order_id)
        answer = await self._serve(
            call,
            f"/v1/payments/orders/{order_id}",
            None,
            lambda: self._view(self._find(self._by_order.get(order_id))),
            method="GET",
        )
        assert isinstance(answer, GatewayPayment)
        return answer

    async def lookup_by_payment_key(self, payment_key: str) -> GatewayPayment:
        call = GatewayCall(LOOKUP, None, payment_key=payment_key)
        answer = await self._serve(
            call,
            f"/v1/payments/{payment_key}",
            None,
            lambda: self._view(self._find(payment_key)),
            method="GET",
        )
        assert isinstance(answer, GatewayPayment)
        return answer

    async def cancel(
        self,
        *,
        payment_key: str,
        reason: str,
        amount: int | None,
        idempotency_key: str,
        refund_account: RefundAccount | None = None,
        tax_free_amount: int | None = None,
    ) -> GatewayPayment:
        call = GatewayCall(CANCEL, idempotency_key, payment_key, amount=amount)
        request: dict[str, Any] = {"cancelReason": reason, "cancelAmount": amount}
        if refund_account is not None:  # the account number stays out of the record
            request["refundReceiveAccount"] = {"bank": refund_account.bank}
        answer = await self._serve(
            call,
            f"/v1/payments/{payment_key}/cancel",
            request,
            lambda: self._cancel(call, reason, refund_account),
        )
        assert isinstance(answer, GatewayPayment)
        return answer

    async def issue_billing_key(
        self, *, auth_key: str, customer_key: str, idempotency_key: str
    ) -> BillingAuthorization:
        call = GatewayCall(BILLING_ISSUE, idempotency_key)
        answer = await self._serve(
            call,
            "/v1/billing/authorizations/issue",
            {"customerKey": customer_key},
            lambda: self._issue(call, auth_key, customer_key),
        )
        assert isinstance(answer, BillingAuthorization)
        return answer

    async def charge_billing_key(
        self,
        *,
        billing_key: str,
        customer_key: str,
        order_id: str,
        order_name: str,
        amount: int,
        idempotency_key: str,
        tax_free_amount: int = 0,
    ) -> GatewayPayment:
        call = GatewayCall(BILLING_CHARGE, idempotency_key, order_id=order_id, amount=amount)
        body: dict[str, object] = {
            "customerKey": customer_key,
            "orderId": order_id,
            "amount": amount,
        }
        if tax_free_amount:
            body["taxFreeAmount"] = tax_free_amount
        answer = await self._serve(
            call,
            f"/v1/billing/{billing_key}",
            body,
            lambda: self._charge(call, billing_key, customer_key, order_name),
            path_for_record="/v1/billing/{billingKey}",
        )
        assert isinstance(answer, GatewayPayment)
        return answer

    async def delete_billing_key(self, billing_key: str) -> None:
        call = GatewayCall(BILLING_DELETE, None)
        await self._serve(
            call,
            f"/v1/billing/{billing_key}",
            None,
            lambda: self._delete_billing(call, billing_key),
            method="DELETE",
            path_for_record="/v1/billing/{billingKey}",
        )

    # -- one request, start to end ----------------------------------------------------------------
    async def _serve(
        self,
        call: GatewayCall,
        path: str,
        request: dict[str, Any] | None,
        apply: Callable[[], GatewayPayment | BillingAuthorization | None],
        *,
        method: str = "POST",
        path_for_record: str | None = None,
    ) -> GatewayPayment | BillingAuthorization | None:
        self.calls.append(call)
        for observer in self._observers:
            observer(call)
        if self._gates[call.operation]:
            await self._gates[call.operation].popleft().pass_through()
        fault = self._faults[call.operation].popleft() if self._faults[call.operation] else None
        if fault is not None and fault.error is not None:
            raise fault.error
        exchange = _Exchange(
            call.operation, method, path_for_record or path, request, call.idempotency_key
        )
        key = (
            (self.key_id, f"{method} {path}", call.idempotency_key)
            if call.idempotency_key
            else None
        )
        answer: GatewayPayment | BillingAuthorization | GatewayError | None
        if key is not None and key in self._answers:
            answer = self._answers[key]  # Toss replays the first answer, whatever the body
        else:
            try:
                answer = apply()
            except GatewayError as error:
                answer = error
            if key is not None and answer is not None:
                self._answers[key] = answer
        if fault is not None:
            raise GatewayUnknown(
                "READ_TIMEOUT",
                "The answer was lost after Toss applied the request.",
                timed_out=True,
                exchange=exchange.lost(),
            )
        if isinstance(answer, GatewayError):
            raise type(answer)(answer.code, answer.message, exchange=exchange.failed(answer))
        if answer is None:
            return None
        return dataclasses.replace(answer, exchange=exchange.answered(answer))

    # -- Toss's rules -------------------------------------------------------------------------
    def _confirm(self, call: GatewayCall) -> GatewayPayment:
        payment = self._find(call.payment_key)
        if payment.status in (S.DONE, S.WAITING_FOR_DEPOSIT, S.PARTIAL_CANCELED, S.CANCELED):
            raise GatewayAlreadyProcessed("ALREADY_PROCESSED_PAYMENT", "이미 처리된 결제 입니다.")
        if payment.status is S.ABORTED:
            assert payment.failure is not None
            raise GatewayDeclined(payment.failure.code, payment.failure.message)
        if payment.status is S.EXPIRED:
            raise GatewayNotFound(
                "NOT_FOUND_PAYMENT_SESSION",
                "결제 시간이 만료되어 결제 진행 데이터가 존재하지 않습니다.",
            )
        if payment.order_id != call.order_id or payment.amount != call.amount:
            # The sandbox's (and our adapter's) reading: a request Toss refuses as invalid.
            raise GatewayMisconfigured("INVALID_REQUEST", "잘못된 요청입니다.")
        self.applied.append(call)
        if payment.fail_with is not None:
            message = DECLINE_MESSAGES.get(payment.fail_with, "결제가 거절되었습니다.")
            payment.status = S.ABORTED
            payment.failure = Failure(payment.fail_with, message)
            raise GatewayDeclined(payment.fail_with, message)
        payment.approved_at = self._now()
        payment.last_transaction_key = self._transaction_key()
        if payment.method is PaymentMethod.VIRTUAL_ACCOUNT:
            payment.status = S.WAITING_FOR_DEPOSIT
            due = (payment.approved_at + VIRTUAL_ACCOUNT_VALID_FOR).isoformat()
            payment.virtual_account = VirtualAccountDetails(
                bank="88", account_number="X6200012345678", customer_name="김토스", due_date=due
            )
            payment.secret = f"ps_secret_{payment.payment_key}"
        else:
            payment.status = S.DONE
            payment.card = _CARD
        return self._view(payment)

    def _cancel(
        self, call: GatewayCall, reason: str, refund_account: RefundAccount | None
    ) -> GatewayPayment:
        payment = self._find(call.payment_key)
        if payment.status is S.CANCELED:
            raise GatewayAlreadyProcessed("ALREADY_CANCELED_PAYMENT", "이미 취소된 결제 입니다.")
        if payment.status not in (S.DONE, S.PARTIAL_CANCELED, S.WAITING_FOR_DEPOSIT):
            raise GatewayDeclined("NOT_CANCELABLE_PAYMENT", "취소 할 수 없는 결제 입니다.")
        amount = payment.balance if call.amount is None else call.amount
        if amount <= 0 or amount > payment.balance:
            raise GatewayDeclined("NOT_CANCELABLE_AMOUNT", "취소 할 수 없는 금액 입니다.")
        if payment.status is S.WAITING_FOR_DEPOSIT and amount != payment.balance:
            raise GatewayDeclined(
                "NOT_ALLOWED_PARTIAL_REFUND_WAITING_DEPOSIT",
                "입금 대기중인 결제는 부분 환불이 불가합니다.",
            )
        paid_by_deposit = payment.method is PaymentMethod.VIRTUAL_ACCOUNT and payment.status in (
            S.DONE,
            S.PARTIAL_CANCELED,
        )
        if paid_by_deposit and refund_account is None:
            raise GatewayDeclined(
                "INVALID_REFUND_ACCOUNT_INFO", "환불 계좌번호와 예금주명이 일치하지 않습니다."
            )
        self.applied.append(call)
        transaction_key = self._transaction_key()
        payment.cancels.append(GatewayCancel(amount, reason, self._now(), transaction_key))
        payment.balance -= amount
        payment.last_transaction_key = transaction_key
        payment.status = S.CANCELED if payment.balance == 0 else S.PARTIAL_CANCELED
        return self._view(payment)

    def _issue(self, call: GatewayCall, auth_key: str, customer_key: str) -> BillingAuthorization:
        registered_for = self._auth_keys.get(auth_key)
        if registered_for is None:
            raise GatewayDeclined("INVALID_BILLING_AUTH", "유효하지 않은 빌링 인증입니다.")
        if registered_for != customer_key:
            raise GatewayDeclined("NOT_MATCHES_CUSTOMER_KEY", "고객 키가 일치하지 않습니다.")
        self.applied.append(call)
        del self._auth_keys[auth_key]
        billing_key = f"bk_secret_{next(self._serial):08d}"
        self._billing[billing_key] = _BillingKey(billing_key, customer_key, _CARD)
        return BillingAuthorization(billing_key, customer_key, _CARD, self._now())

    def _charge(
        self, call: GatewayCall, billing_key: str, customer_key: str, order_name: str
    ) -> GatewayPayment:
        billing = self._billing.get(billing_key)
        if billing is None:
            raise GatewayNotFound("NOT_FOUND_BILLING", "존재하지 않는 빌링 정보 입니다.")
        if billing.customer_key != customer_key:
            raise GatewayDeclined("NOT_MATCHES_CUSTOMER_KEY", "고객 키가 일치하지 않습니다.")
        assert call.order_id is not None and call.amount is not None
        if call.order_id in self._by_order:
            raise GatewayAlreadyProcessed(
                "DUPLICATED_ORDER_ID", "이미 승인 및 취소가 진행된 중복된 주문번호 입니다."
            )
        payment_key = self.pay_in_window(call.order_id, call.amount, order_name=order_name)
        payment = self._payments[payment_key]
        self.applied.append(call)
        payment.status = S.DONE
        payment.approved_at = self._now()
        payment.card = billing.card
        payment.last_transaction_key = self._transaction_key()
        return self._view(payment)

    def _delete_billing(self, call: GatewayCall, billing_key: str) -> None:
        if self._billing.pop(billing_key, None) is None:
            raise GatewayNotFound("NOT_FOUND_BILLING", "존재하지 않는 빌링 정보 입니다.")
        self.applied.append(call)

    # -- internals --------------------------------------------------------------------------
    def _find(self, payment_key: str | None) -> _TossPayment:
        payment = self._payments.get(payment_key or "")
        if payment is None:
            raise GatewayNotFound("NOT_FOUND_PAYMENT", "존재하지 않는 결제 정보 입니다.")
        return payment

    def _view(self, payment: _TossPayment) -> GatewayPayment:
        return GatewayPayment(
            payment_key=payment.payment_key,
            order_id=payment.order_id,
            status=payment.status,
            total_amount=payment.amount,
            balance_amount=payment.balance,
            currency="KRW",
            method=payment.method,
            approved_at=payment.approved_at,
            requested_at=payment.requested_at,
            card=payment.card,
            virtual_account=payment.virtual_account,
            receipt_url=(
                f"https://sandbox.invalid/receipt/{payment.payment_key}"
                if payment.approved_at
                else None
            ),
            failure=payment.failure,
            cancels=tuple(payment.cancels),
            last_transaction_key=payment.last_transaction_key,
            deposit_secret=payment.secret,
            account_expired=payment.account_expired,
        )

    def _transaction_key(self) -> str:
        return f"txk_{next(self._serial):08d}"

    def _now(self) -> datetime:
        return self._clock.now() if self._clock is not None else datetime.now(UTC)

    @staticmethod
    def _check(operation: str) -> None:
        if operation not in OPERATIONS:
            raise ValueError(f"unknown operation {operation!r}; one of {sorted(OPERATIONS)}")


_CARD = CardDetails(
    company="신한",
    number="43301234****123*",  # masked as Toss masks it
    card_type="신용",
    owner_type="개인",
    installment_plan_months=0,
    approve_no="00000000",
)


@dataclass(frozen=True)
class _Exchange:
    """Builds the audit record of one call; secrets (billingKey, VA secret) never enter it."""

    operation: str
    method: str
    path: str
    request: dict[str, Any] | None
    idempotency_key: str | None  # as Toss received it: the call's header

    def answered(self, answer: GatewayPayment | BillingAuthorization) -> GatewayExchange:
        if isinstance(answer, GatewayPayment):
            body: dict[str, Any] = {
                "paymentKey": answer.payment_key,
                "orderId": answer.order_id,
                "status": str(answer.status),
                "totalAmount": answer.total_amount,
                "balanceAmount": answer.balance_amount,
            }
        else:
            body = {"customerKey": answer.customer_key}
        return self._build(body, 200, PgOutcome.OK)

    def failed(self, error: GatewayError) -> GatewayExchange:
        status, outcome = {
            GatewayDeclined: (403, PgOutcome.DECLINED),
            GatewayAlreadyProcessed: (400, PgOutcome.ALREADY_PROCESSED),
            GatewayNotFound: (404, PgOutcome.NOT_FOUND),
        }.get(type(error), (500, PgOutcome.UNKNOWN))
        return self._build({"code": error.code, "message": error.message}, status, outcome)

    def lost(self) -> GatewayExchange:
        return self._build(None, None, PgOutcome.UNKNOWN)

    def _build(
        self, body: dict[str, Any] | None, status: int | None, outcome: PgOutcome
    ) -> GatewayExchange:
        return GatewayExchange(
            operation=PgOperation(self.operation),
            method=self.method,
            path=self.path,
            request_data=self.request,
            response_data=body,
            status_code=status,
            processing_time_ms=0,
            outcome=outcome,
            idempotency_key=self.idempotency_key,
        )
