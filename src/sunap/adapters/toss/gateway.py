"""TossGateway: the PaymentGateway port, spoken to Toss through `sunap_toss.AsyncTossClient`.

The client does the HTTP (auth, timeouts, same-key retries, the breaker, classification); this
layer turns its records into our DTOs and its errors into our GatewayError classes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import httpx

from sunap.application.ports.gateway import (
    BillingAuthorization,
    GatewayAlreadyProcessed,
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
from sunap_toss import (
    AsyncTossClient,
    CircuitBreaker,
    Exchange,
    Payment,
    RefundReceiveAccount,
    RetryPolicy,
    TossAlreadyProcessed,
    TossDeclined,
    TossError,
    TossMisconfigured,
    TossNotFound,
    TossTimeouts,
    TossUnknown,
)
from sunap_toss.client import DEFAULT_BREAKER, BreakerChoice
from sunap_toss.http_clients import new_async_http_client

from .wire import WireError, parse_billing, parse_payment

T = TypeVar("T")

_ERRORS: dict[type[TossError], type[GatewayError]] = {
    TossDeclined: GatewayDeclined,
    TossAlreadyProcessed: GatewayAlreadyProcessed,
    TossNotFound: GatewayNotFound,
    TossMisconfigured: GatewayMisconfigured,
}


def gateway_exchange(exchange: Exchange) -> GatewayExchange:
    # sunap_toss knows nothing of ours: its Operation and Verdict (or "ok") are read by value,
    # and every value has its member here (tests/unit/toss/test_toss_exchange.py).
    return GatewayExchange(
        operation=PgOperation(exchange.operation),
        method=exchange.method,
        path=exchange.path,
        request_data=exchange.request_data,
        response_data=exchange.response_data,
        status_code=exchange.status_code,
        processing_time_ms=exchange.processing_time_ms,
        outcome=PgOutcome(exchange.outcome),
        trace_id=exchange.trace_id,
        idempotency_key=exchange.idempotency_key,
        earlier=tuple(gateway_exchange(attempt) for attempt in exchange.earlier),
    )


# Misconfigured answers about what a request asked, once Toss took our key: nothing was done.
REQUEST_REFUSALS = frozenset({"INVALID_REQUEST"})
# Unknown outcomes of calls that never left this process: the circuit breaker refused them.
NOTHING_SENT = frozenset({"CIRCUIT_OPEN"})


def gateway_error(error: TossError) -> GatewayError:
    exchange = gateway_exchange(error.exchange) if error.exchange is not None else None
    if isinstance(error, TossUnknown):
        return GatewayUnknown(
            error.code,
            error.message,
            timed_out=error.timed_out,
            exchange=exchange,
            nothing_sent=error.code in NOTHING_SENT,
        )
    if isinstance(error, TossMisconfigured):
        refused_request = error.code in REQUEST_REFUSALS
        return GatewayMisconfigured(
            error.code, error.message, exchange=exchange, refused_request=refused_request
        )
    return _ERRORS.get(type(error), GatewayUnknown)(error.code, error.message, exchange=exchange)


# A confirm, cancel or charge whose outcome is unknown (a 5xx, a dropped connection, a timeout)
# is answered as unknown at once (502/504) and settled by the reconciler or the caller's retry
# under the same key, as docs/api.md promises, rather than sent again inside the request: the
# caller learns within one read timeout, and a retry inside it would hide a PG failure it must
# see. Reads, and answers saying nothing was done (429, still processing), are tried again.
SUNAP_RETRIES = RetryPolicy(retry_unknown_writes=False)


class TossGateway:
    """Every answer is a DTO in our words or one of the GatewayError classes."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        secret_key: str,
        base_url: str,
        clock: Callable[[], float] = time.monotonic,
        retry_policy: RetryPolicy = SUNAP_RETRIES,
        breaker: BreakerChoice = DEFAULT_BREAKER,
        timeouts: TossTimeouts = TossTimeouts(),
    ) -> None:
        # 64 bits of the key's digest: enough to tell an account's keys apart, nothing of the key.
        self._key_id = hashlib.sha256(secret_key.encode()).hexdigest()[:16]
        self._toss = AsyncTossClient(
            secret_key=secret_key,
            base_url=base_url,
            http_client=client,
            clock=clock,
            retry_policy=retry_policy,
            breaker=breaker,
            timeouts=timeouts,
        )

    def __repr__(self) -> str:
        return f"TossGateway({self._toss!r})"

    @property
    def key_id(self) -> str:
        return self._key_id

    def accepts_new_operations(self) -> bool:
        breaker = self._toss.breaker
        return breaker is None or not breaker.is_open

    @property
    def breaker(self) -> CircuitBreaker | None:
        """`breaker.is_open`: refuse a new confirm before claiming the payment."""
        return self._toss.breaker

    async def confirm(
        self, *, payment_key: str, order_id: str, amount: int, idempotency_key: str
    ) -> GatewayPayment:
        return await self._payment(
            self._toss.confirm(
                payment_key=payment_key,
                order_id=order_id,
                amount=amount,
                idempotency_key=idempotency_key,
            )
        )

    async def lookup_by_order_id(self, order_id: str) -> GatewayPayment:
        return await self._payment(self._toss.get_payment_by_order_id(order_id))

    async def lookup_by_payment_key(self, payment_key: str) -> GatewayPayment:
        return await self._payment(self._toss.get_payment(payment_key))

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
        account = (
            None
            if refund_account is None
            else RefundReceiveAccount(
                bank=refund_account.bank,
                account_number=refund_account.account_number,
                holder_name=refund_account.holder_name,
            )
        )
        return await self._payment(
            self._toss.cancel(
                payment_key=payment_key,
                cancel_reason=reason,
                cancel_amount=amount,
                idempotency_key=idempotency_key,
                refund_receive_account=account,
                tax_free_amount=tax_free_amount,
            )
        )

    async def issue_billing_key(
        self, *, auth_key: str, customer_key: str, idempotency_key: str
    ) -> BillingAuthorization:
        billing = await _answer(
            self._toss.issue_billing_key(
                auth_key=auth_key, customer_key=customer_key, idempotency_key=idempotency_key
            )
        )
        exchange = _exchange_of(billing.exchange)
        return _ours(lambda: parse_billing(billing.raw, exchange), exchange)

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
        return await self._payment(
            self._toss.charge_billing_key(
                billing_key=billing_key,
                customer_key=customer_key,
                amount=amount,
                order_id=order_id,
                order_name=order_name,
                idempotency_key=idempotency_key,
                # Sent only when there is some: Toss reads a missing field as 0.
                tax_free_amount=tax_free_amount or None,
            )
        )

    async def delete_billing_key(self, billing_key: str) -> None:
        await _answer(self._toss.delete_billing_key(billing_key))

    async def _payment(self, call: Awaitable[Payment]) -> GatewayPayment:
        payment = await _answer(call)
        exchange = _exchange_of(payment.exchange)
        return _ours(lambda: parse_payment(payment.raw, exchange), exchange)


async def _answer(call: Awaitable[T]) -> T:
    try:
        return await call
    except TossError as error:
        raise gateway_error(error) from error


def _exchange_of(exchange: Exchange | None) -> GatewayExchange | None:
    return gateway_exchange(exchange) if exchange is not None else None


def _ours(read: Callable[[], T], exchange: GatewayExchange | None) -> T:
    try:
        return read()
    except WireError as exc:
        # Toss said yes to something we cannot read: the money may have moved, so "unknown".
        if exchange is not None:
            exchange = dataclasses.replace(exchange, outcome=PgOutcome.UNKNOWN)
        raise GatewayUnknown(
            "MALFORMED_RESPONSE", f"Toss's answer could not be read: {exc}", exchange=exchange
        ) from exc


def build_toss_gateway(
    secret_key: str,
    base_url: str,
    *,
    clock: Callable[[], float] = time.monotonic,
    retry_policy: RetryPolicy = SUNAP_RETRIES,
    breaker: BreakerChoice = DEFAULT_BREAKER,
    timeouts: TossTimeouts = TossTimeouts(),
    max_connections: int = 100,
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[TossGateway, httpx.AsyncClient]:
    """A gateway and the one pooled client it uses; the caller closes the client (`aclose`)."""
    client = new_async_http_client(timeouts, max_connections, transport)
    gateway = TossGateway(
        client,
        secret_key=secret_key,
        base_url=base_url,
        clock=clock,
        retry_policy=retry_policy,
        breaker=breaker,
        timeouts=timeouts,
    )
    return gateway, client


@asynccontextmanager
async def open_toss_gateway(
    secret_key: str,
    base_url: str,
    *,
    clock: Callable[[], float] = time.monotonic,
    retry_policy: RetryPolicy = SUNAP_RETRIES,
    breaker: BreakerChoice = DEFAULT_BREAKER,
    timeouts: TossTimeouts = TossTimeouts(),
    max_connections: int = 100,
    transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncIterator[TossGateway]:
    """`async with open_toss_gateway(key, url) as gateway:` — the client is closed on exit."""
    gateway, client = build_toss_gateway(
        secret_key,
        base_url,
        clock=clock,
        retry_policy=retry_policy,
        breaker=breaker,
        timeouts=timeouts,
        max_connections=max_connections,
        transport=transport,
    )
    async with client:
        yield gateway
