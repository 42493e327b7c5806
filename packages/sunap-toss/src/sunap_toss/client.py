"""`AsyncTossClient` and `TossClient`: the Core API v1, typed, over one pooled httpx client each.

    with TossClient(secret_key="test_sk_...", base_url="http://127.0.0.1:8090") as toss:
        payment = toss.confirm(payment_key=..., order_id=..., amount=15000)
        assert payment.status == "DONE"

An answer is a record from `models`; anything else is one of the `errors` (declined, unknown,
already processed, not found, misconfigured), each with Toss's `trace_id` when an answer came back.
"""

from __future__ import annotations

import dataclasses
import enum
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

import httpx

from . import requests
from .breaker import CircuitBreaker
from .errors import TossUnknown
from .http_clients import new_async_http_client, new_http_client
from .models import (
    Billing,
    CashReceipt,
    CashReceiptPage,
    Payment,
    Settlement,
    Transaction,
    WireError,
    parse_billing,
    parse_cash_receipt,
    parse_cash_receipt_page,
    parse_payment,
    parse_settlements,
    parse_transactions,
)
from .requests import RefundReceiveAccount
from .retry import RetryPolicy
from .transport import AsyncTransport, SyncTransport, TossAnswer, TossTimeouts, _Steps

DEFAULT_BASE_URL = "https://api.tosspayments.com"

T = TypeVar("T")


class _Default(enum.Enum):
    BREAKER = enum.auto()


BreakerChoice = CircuitBreaker | Literal[_Default.BREAKER] | None
DEFAULT_BREAKER: Literal[_Default.BREAKER] = _Default.BREAKER


def _read(answer: TossAnswer, parse: Callable[[Any], T]) -> T:
    try:
        return parse(answer.data)
    except WireError as exc:
        # Toss said yes to something we cannot read: the money may have moved, so "unknown".
        raise TossUnknown(
            "MALFORMED_RESPONSE",
            f"Toss's answer could not be read: {exc}",
            exchange=dataclasses.replace(answer.exchange, outcome="unknown"),
        ) from exc


def _payment(answer: TossAnswer) -> Payment:
    return _read(answer, lambda data: parse_payment(data, answer.exchange))


def _billing(answer: TossAnswer) -> Billing:
    return _read(answer, lambda data: parse_billing(data, answer.exchange))


def _cash_receipt(answer: TossAnswer) -> CashReceipt:
    return _read(answer, lambda data: parse_cash_receipt(data, answer.exchange))


def _settled(answer: TossAnswer) -> bool:
    return isinstance(answer.data, Mapping) and answer.data.get("result") is True


def _steps(
    secret_key: str,
    base_url: str,
    clock: Callable[[], float],
    retry_policy: RetryPolicy,
    breaker: BreakerChoice,
    timeouts: TossTimeouts,
) -> _Steps:
    return _Steps(
        secret_key=secret_key,
        base_url=base_url,
        clock=clock,
        retry_policy=retry_policy,
        breaker=CircuitBreaker(clock=clock) if breaker is _Default.BREAKER else breaker,
        timeouts=timeouts,
    )


class AsyncTossClient:
    """The async client. Pass `http_client` to share a pool you own; otherwise this client makes
    one and closes it in `aclose()` / `async with`."""

    def __init__(
        self,
        *,
        secret_key: str,
        base_url: str = DEFAULT_BASE_URL,
        http_client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
        retry_policy: RetryPolicy = RetryPolicy(),
        breaker: BreakerChoice = DEFAULT_BREAKER,
        timeouts: TossTimeouts = TossTimeouts(),
        max_connections: int = 100,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        steps = _steps(secret_key, base_url, clock, retry_policy, breaker, timeouts)
        self._owns_client = http_client is None
        self._http = http_client or new_async_http_client(timeouts, max_connections, transport)
        self._transport = AsyncTransport(self._http, steps)
        self._timeouts = timeouts

    def __repr__(self) -> str:
        return f"AsyncTossClient({self._transport!r})"

    @property
    def breaker(self) -> CircuitBreaker | None:
        """`breaker.is_open`: refuse a new payment before claiming it."""
        return self._transport.breaker

    @property
    def transport(self) -> AsyncTransport:
        return self._transport

    async def aclose(self) -> None:
        if self._owns_client:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # Payments
    async def confirm(
        self, *, payment_key: str, order_id: str, amount: int, idempotency_key: str | None = None
    ) -> Payment:
        request = requests.confirm(payment_key, order_id, amount, idempotency_key)
        return _payment(await self._transport.call(request))

    async def get_payment(self, payment_key: str) -> Payment:
        return _payment(await self._transport.call(requests.get_payment(payment_key)))

    async def get_payment_by_order_id(self, order_id: str) -> Payment:
        return _payment(await self._transport.call(requests.get_payment_by_order_id(order_id)))

    async def cancel(
        self,
        *,
        payment_key: str,
        cancel_reason: str,
        cancel_amount: int | None = None,
        idempotency_key: str | None = None,
        refund_receive_account: RefundReceiveAccount | None = None,
        tax_free_amount: int | None = None,
        refundable_amount: int | None = None,
        currency: str | None = None,
    ) -> Payment:
        request = requests.cancel(
            payment_key,
            cancel_reason,
            cancel_amount,
            idempotency_key=idempotency_key,
            refund_receive_account=refund_receive_account,
            tax_free_amount=tax_free_amount,
            refundable_amount=refundable_amount,
            currency=currency,
        )
        return _payment(await self._transport.call(request))

    async def key_in(
        self,
        *,
        amount: int,
        order_id: str,
        order_name: str,
        card_number: str,
        card_expiration_year: str,
        card_expiration_month: str,
        customer_identity_number: str,
        card_password: str | None = None,
        card_installment_plan: int | None = None,
        customer_name: str | None = None,
        customer_email: str | None = None,
        tax_free_amount: int | None = None,
        idempotency_key: str | None = None,
    ) -> Payment:
        request = requests.key_in(
            amount=amount,
            order_id=order_id,
            order_name=order_name,
            card_number=card_number,
            card_expiration_year=card_expiration_year,
            card_expiration_month=card_expiration_month,
            customer_identity_number=customer_identity_number,
            card_password=card_password,
            card_installment_plan=card_installment_plan,
            customer_name=customer_name,
            customer_email=customer_email,
            tax_free_amount=tax_free_amount,
            idempotency_key=idempotency_key,
        )
        return _payment(await self._transport.call(request))

    # Virtual accounts
    async def issue_virtual_account(
        self,
        *,
        amount: int,
        order_id: str,
        order_name: str,
        customer_name: str,
        bank: str,
        valid_hours: int | None = None,
        due_date: str | None = None,
        customer_email: str | None = None,
        customer_mobile_phone: str | None = None,
        tax_free_amount: int | None = None,
        cash_receipt: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> Payment:
        request = requests.issue_virtual_account(
            amount=amount,
            order_id=order_id,
            order_name=order_name,
            customer_name=customer_name,
            bank=bank,
            valid_hours=valid_hours,
            due_date=due_date,
            customer_email=customer_email,
            customer_mobile_phone=customer_mobile_phone,
            tax_free_amount=tax_free_amount,
            cash_receipt=cash_receipt,
            idempotency_key=idempotency_key,
        )
        return _payment(await self._transport.call(request))

    # Billing
    async def issue_billing_key(
        self, *, auth_key: str, customer_key: str, idempotency_key: str | None = None
    ) -> Billing:
        request = requests.issue_billing_key(auth_key, customer_key, idempotency_key)
        return _billing(await self._transport.call(request))

    async def charge_billing_key(
        self,
        *,
        billing_key: str,
        customer_key: str,
        amount: int,
        order_id: str,
        order_name: str,
        customer_email: str | None = None,
        customer_name: str | None = None,
        tax_free_amount: int | None = None,
        card_installment_plan: int | None = None,
        idempotency_key: str | None = None,
    ) -> Payment:
        request = requests.charge_billing_key(
            billing_key=billing_key,
            customer_key=customer_key,
            amount=amount,
            order_id=order_id,
            order_name=order_name,
            customer_email=customer_email,
            customer_name=customer_name,
            tax_free_amount=tax_free_amount,
            card_installment_plan=card_installment_plan,
            idempotency_key=idempotency_key,
            read_timeout=self._timeouts.billing_read,
        )
        return _payment(await self._transport.call(request))

    async def delete_billing_key(self, billing_key: str) -> None:
        await self._transport.call(requests.delete_billing_key(billing_key))

    # Reports
    async def list_transactions(
        self,
        *,
        start_date: str,
        end_date: str,
        starting_after: str | None = None,
        limit: int | None = None,
    ) -> list[Transaction]:
        request = requests.list_transactions(start_date, end_date, starting_after, limit)
        return _read(await self._transport.call(request), parse_transactions)

    async def list_settlements(
        self,
        *,
        start_date: str,
        end_date: str,
        date_type: str | None = None,
        page: int | None = None,
        size: int | None = None,
    ) -> list[Settlement]:
        request = requests.list_settlements(start_date, end_date, date_type, page, size)
        return _read(await self._transport.call(request), parse_settlements)

    async def request_settlement(
        self, *, payment_key: str, idempotency_key: str | None = None
    ) -> bool:
        request = requests.request_settlement(payment_key, idempotency_key)
        return _settled(await self._transport.call(request))

    # Cash receipts
    async def issue_cash_receipt(
        self,
        *,
        amount: int,
        order_id: str,
        order_name: str,
        customer_identity_number: str,
        type: str,
        tax_free_amount: int | None = None,
        idempotency_key: str | None = None,
    ) -> CashReceipt:
        request = requests.issue_cash_receipt(
            amount=amount,
            order_id=order_id,
            order_name=order_name,
            customer_identity_number=customer_identity_number,
            type=type,
            tax_free_amount=tax_free_amount,
            idempotency_key=idempotency_key,
        )
        return _cash_receipt(await self._transport.call(request))

    async def cancel_cash_receipt(
        self, *, receipt_key: str, amount: int | None = None, idempotency_key: str | None = None
    ) -> CashReceipt:
        request = requests.cancel_cash_receipt(receipt_key, amount, idempotency_key)
        return _cash_receipt(await self._transport.call(request))

    async def list_cash_receipts(
        self, *, request_date: str, cursor: str | None = None, limit: int | None = None
    ) -> CashReceiptPage:
        request = requests.list_cash_receipts(request_date, cursor, limit)
        return _read(await self._transport.call(request), parse_cash_receipt_page)


class TossClient:
    """The blocking client, safe to share between threads. Pass `http_client` to share a pool you
    own; otherwise this client makes one and closes it in `close()` / `with`."""

    def __init__(
        self,
        *,
        secret_key: str,
        base_url: str = DEFAULT_BASE_URL,
        http_client: httpx.Client | None = None,
        clock: Callable[[], float] = time.monotonic,
        retry_policy: RetryPolicy = RetryPolicy(),
        breaker: BreakerChoice = DEFAULT_BREAKER,
        timeouts: TossTimeouts = TossTimeouts(),
        max_connections: int = 100,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        steps = _steps(secret_key, base_url, clock, retry_policy, breaker, timeouts)
        self._owns_client = http_client is None
        self._http = http_client or new_http_client(timeouts, max_connections, transport)
        self._transport = SyncTransport(self._http, steps)
        self._timeouts = timeouts

    def __repr__(self) -> str:
        return f"TossClient({self._transport!r})"

    @property
    def breaker(self) -> CircuitBreaker | None:
        """`breaker.is_open`: refuse a new payment before claiming it."""
        return self._transport.breaker

    @property
    def transport(self) -> SyncTransport:
        return self._transport

    def close(self) -> None:
        if self._owns_client:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # Payments
    def confirm(
        self, *, payment_key: str, order_id: str, amount: int, idempotency_key: str | None = None
    ) -> Payment:
        request = requests.confirm(payment_key, order_id, amount, idempotency_key)
        return _payment(self._transport.call(request))

    def get_payment(self, payment_key: str) -> Payment:
        return _payment(self._transport.call(requests.get_payment(payment_key)))

    def get_payment_by_order_id(self, order_id: str) -> Payment:
        return _payment(self._transport.call(requests.get_payment_by_order_id(order_id)))

    def cancel(
        self,
        *,
        payment_key: str,
        cancel_reason: str,
        cancel_amount: int | None = None,
        idempotency_key: str | None = None,
        refund_receive_account: RefundReceiveAccount | None = None,
        tax_free_amount: int | None = None,
        refundable_amount: int | None = None,
        currency: str | None = None,
    ) -> Payment:
        request = requests.cancel(
            payment_key,
            cancel_reason,
            cancel_amount,
            idempotency_key=idempotency_key,
            refund_receive_account=refund_receive_account,
            tax_free_amount=tax_free_amount,
            refundable_amount=refundable_amount,
            currency=currency,
        )
        return _payment(self._transport.call(request))

    def key_in(
        self,
        *,
        amount: int,
        order_id: str,
        order_name: str,
        card_number: str,
        card_expiration_year: str,
        card_expiration_month: str,
        customer_identity_number: str,
        card_password: str | None = None,
        card_installment_plan: int | None = None,
        customer_name: str | None = None,
        customer_email: str | None = None,
        tax_free_amount: int | None = None,
        idempotency_key: str | None = None,
    ) -> Payment:
        request = requests.key_in(
            amount=amount,
            order_id=order_id,
            order_name=order_name,
            card_number=card_number,
            card_expiration_year=card_expiration_year,
            card_expiration_month=card_expiration_month,
            customer_identity_number=customer_identity_number,
            card_password=card_password,
            card_installment_plan=card_installment_plan,
            customer_name=customer_name,
            customer_email=customer_email,
            tax_free_amount=tax_free_amount,
            idempotency_key=idempotency_key,
        )
        return _payment(self._transport.call(request))

    # Virtual accounts
    def issue_virtual_account(
        self,
        *,
        amount: int,
        order_id: str,
        order_name: str,
        customer_name: str,
        bank: str,
        valid_hours: int | None = None,
        due_date: str | None = None,
        customer_email: str | None = None,
        customer_mobile_phone: str | None = None,
        tax_free_amount: int | None = None,
        cash_receipt: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> Payment:
        request = requests.issue_virtual_account(
            amount=amount,
            order_id=order_id,
            order_name=order_name,
            customer_name=customer_name,
            bank=bank,
            valid_hours=valid_hours,
            due_date=due_date,
            customer_email=customer_email,
            customer_mobile_phone=customer_mobile_phone,
            tax_free_amount=tax_free_amount,
            cash_receipt=cash_receipt,
            idempotency_key=idempotency_key,
        )
        return _payment(self._transport.call(request))

    # Billing
    def issue_billing_key(
        self, *, auth_key: str, customer_key: str, idempotency_key: str | None = None
    ) -> Billing:
        request = requests.issue_billing_key(auth_key, customer_key, idempotency_key)
        return _billing(self._transport.call(request))

    def charge_billing_key(
        self,
        *,
        billing_key: str,
        customer_key: str,
        amount: int,
        order_id: str,
        order_name: str,
        customer_email: str | None = None,
        customer_name: str | None = None,
        tax_free_amount: int | None = None,
        card_installment_plan: int | None = None,
        idempotency_key: str | None = None,
    ) -> Payment:
        request = requests.charge_billing_key(
            billing_key=billing_key,
            customer_key=customer_key,
            amount=amount,
            order_id=order_id,
            order_name=order_name,
            customer_email=customer_email,
            customer_name=customer_name,
            tax_free_amount=tax_free_amount,
            card_installment_plan=card_installment_plan,
            idempotency_key=idempotency_key,
            read_timeout=self._timeouts.billing_read,
        )
        return _payment(self._transport.call(request))

    def delete_billing_key(self, billing_key: str) -> None:
        self._transport.call(requests.delete_billing_key(billing_key))

    # Reports
    def list_transactions(
        self,
        *,
        start_date: str,
        end_date: str,
        starting_after: str | None = None,
        limit: int | None = None,
    ) -> list[Transaction]:
        request = requests.list_transactions(start_date, end_date, starting_after, limit)
        return _read(self._transport.call(request), parse_transactions)

    def list_settlements(
        self,
        *,
        start_date: str,
        end_date: str,
        date_type: str | None = None,
        page: int | None = None,
        size: int | None = None,
    ) -> list[Settlement]:
        request = requests.list_settlements(start_date, end_date, date_type, page, size)
        return _read(self._transport.call(request), parse_settlements)

    def request_settlement(self, *, payment_key: str, idempotency_key: str | None = None) -> bool:
        request = requests.request_settlement(payment_key, idempotency_key)
        return _settled(self._transport.call(request))

    # Cash receipts
    def issue_cash_receipt(
        self,
        *,
        amount: int,
        order_id: str,
        order_name: str,
        customer_identity_number: str,
        type: str,
        tax_free_amount: int | None = None,
        idempotency_key: str | None = None,
    ) -> CashReceipt:
        request = requests.issue_cash_receipt(
            amount=amount,
            order_id=order_id,
            order_name=order_name,
            customer_identity_number=customer_identity_number,
            type=type,
            tax_free_amount=tax_free_amount,
            idempotency_key=idempotency_key,
        )
        return _cash_receipt(self._transport.call(request))

    def cancel_cash_receipt(
        self, *, receipt_key: str, amount: int | None = None, idempotency_key: str | None = None
    ) -> CashReceipt:
        request = requests.cancel_cash_receipt(receipt_key, amount, idempotency_key)
        return _cash_receipt(self._transport.call(request))

    def list_cash_receipts(
        self, *, request_date: str, cursor: str | None = None, limit: int | None = None
    ) -> CashReceiptPage:
        request = requests.list_cash_receipts(request_date, cursor, limit)
        return _read(self._transport.call(request), parse_cash_receipt_page)
