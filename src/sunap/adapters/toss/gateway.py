"""TossGateway: the PaymentGateway port spoken to Toss Payments Core API v1 over HTTP."""

from __future__ import annotations

import base64
import dataclasses
import enum
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Literal
from urllib.parse import quote

import httpx

from sunap.application.gateway import (
    BillingAuthorization,
    GatewayPayment,
    GatewayUnknown,
    RefundAccount,
)

from .api import TossAnswer, TossApi, TossRequest, TossTimeouts
from .breaker import CircuitBreaker
from .codes import Operation
from .retry import RetryPolicy
from .wire import WireError, parse_billing, parse_payment


class _Default(enum.Enum):
    BREAKER = enum.auto()


def basic_auth_header(secret_key: str) -> str:
    """`Basic base64("{secret_key}:")` — the colon says "no password" and Toss requires it."""
    token = base64.b64encode(f"{secret_key}:".encode()).decode("ascii")
    return f"Basic {token}"


def _segment(value: str) -> str:
    return quote(value, safe="")


class TossGateway:
    """Every answer is a DTO in our words or one of the GatewayError classes; see codes.py."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        secret_key: str,
        base_url: str,
        clock: Callable[[], float] = time.monotonic,
        retry_policy: RetryPolicy = RetryPolicy(),
        breaker: CircuitBreaker | Literal[_Default.BREAKER] | None = _Default.BREAKER,
        timeouts: TossTimeouts = TossTimeouts(),
    ) -> None:
        # A key read from a file often brings a newline or a BOM; either breaks Basic auth.
        secret_key = secret_key.strip().lstrip("\ufeff")
        if not secret_key:
            raise ValueError("A Toss secret key is required.")
        self._breaker = CircuitBreaker(clock=clock) if breaker is _Default.BREAKER else breaker
        self._timeouts = timeouts
        self._api = TossApi(
            client,
            authorization=basic_auth_header(secret_key),
            base_url=base_url,
            clock=clock,
            retry_policy=retry_policy,
            breaker=self._breaker,
            timeouts=timeouts,
        )

    def __repr__(self) -> str:
        return f"TossGateway({self._api!r})"

    def accepts_new_operations(self) -> bool:
        return self._breaker is None or not self._breaker.is_open

    @property
    def breaker(self) -> CircuitBreaker | None:
        """`breaker.is_open`: refuse a new confirm before claiming the payment."""
        return self._breaker

    async def confirm(
        self, *, payment_key: str, order_id: str, amount: int, idempotency_key: str
    ) -> GatewayPayment:
        request = TossRequest(
            Operation.CONFIRM,
            "POST",
            "/v1/payments/confirm",
            "/v1/payments/confirm",
            body={"paymentKey": payment_key, "orderId": order_id, "amount": amount},
            idempotency_key=idempotency_key,
        )
        return _payment(await self._api.call(request))

    async def lookup_by_order_id(self, order_id: str) -> GatewayPayment:
        path = f"/v1/payments/orders/{_segment(order_id)}"
        return _payment(await self._api.call(TossRequest(Operation.LOOKUP, "GET", path, path)))

    async def lookup_by_payment_key(self, payment_key: str) -> GatewayPayment:
        path = f"/v1/payments/{_segment(payment_key)}"
        return _payment(await self._api.call(TossRequest(Operation.LOOKUP, "GET", path, path)))

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
        body: dict[str, Any] = {"cancelReason": reason}
        if amount is not None:
            body["cancelAmount"] = amount  # omitted: Toss cancels the whole balance
        if tax_free_amount is not None:
            body["taxFreeAmount"] = tax_free_amount
        if refund_account is not None:
            body["refundReceiveAccount"] = {
                "bank": refund_account.bank,
                "accountNumber": refund_account.account_number,
                "holderName": refund_account.holder_name,
            }
        path = f"/v1/payments/{_segment(payment_key)}/cancel"
        request = TossRequest(
            Operation.CANCEL, "POST", path, path, body=body, idempotency_key=idempotency_key
        )
        return _payment(await self._api.call(request))

    async def issue_billing_key(
        self, *, auth_key: str, customer_key: str, idempotency_key: str
    ) -> BillingAuthorization:
        request = TossRequest(
            Operation.BILLING_ISSUE,
            "POST",
            "/v1/billing/authorizations/issue",
            "/v1/billing/authorizations/issue",
            body={"authKey": auth_key, "customerKey": customer_key},
            idempotency_key=idempotency_key,
        )
        answer = await self._api.call(request)
        try:
            return parse_billing(answer.data, answer.exchange)
        except WireError as exc:
            raise _unreadable(answer, exc) from exc

    async def charge_billing_key(
        self,
        *,
        billing_key: str,
        customer_key: str,
        order_id: str,
        order_name: str,
        amount: int,
        idempotency_key: str,
    ) -> GatewayPayment:
        request = TossRequest(
            Operation.BILLING_CHARGE,
            "POST",
            f"/v1/billing/{_segment(billing_key)}",
            "/v1/billing/{billingKey}",  # the billing key is a credential: never in a log
            body={
                "customerKey": customer_key,
                "amount": amount,
                "orderId": order_id,
                "orderName": order_name,
            },
            idempotency_key=idempotency_key,
            read_timeout=self._timeouts.billing_read,
        )
        return _payment(await self._api.call(request))

    async def delete_billing_key(self, billing_key: str) -> None:
        await self._api.call(
            TossRequest(
                Operation.BILLING_DELETE,
                "DELETE",
                f"/v1/billing/{_segment(billing_key)}",
                "/v1/billing/{billingKey}",
            )
        )


def _payment(answer: TossAnswer) -> GatewayPayment:
    try:
        return parse_payment(answer.data, answer.exchange)
    except WireError as exc:
        raise _unreadable(answer, exc) from exc


def _unreadable(answer: TossAnswer, exc: WireError) -> GatewayUnknown:
    # Toss said yes to something we cannot read: the money may have moved, so "unknown".
    return GatewayUnknown(
        "MALFORMED_RESPONSE",
        f"Toss's answer could not be read: {exc}",
        exchange=dataclasses.replace(answer.exchange, outcome="unknown"),
    )


def build_toss_gateway(
    secret_key: str,
    base_url: str,
    *,
    clock: Callable[[], float] = time.monotonic,
    retry_policy: RetryPolicy = RetryPolicy(),
    breaker: CircuitBreaker | Literal[_Default.BREAKER] | None = _Default.BREAKER,
    timeouts: TossTimeouts = TossTimeouts(),
    max_connections: int = 100,
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[TossGateway, httpx.AsyncClient]:
    """A gateway and the one pooled client it uses; the caller closes the client (`aclose`)."""
    client = httpx.AsyncClient(
        timeout=httpx.Timeout(
            connect=timeouts.connect, read=timeouts.read, write=timeouts.write, pool=timeouts.pool
        ),
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
        transport=transport,
        follow_redirects=False,
    )
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
    retry_policy: RetryPolicy = RetryPolicy(),
    breaker: CircuitBreaker | Literal[_Default.BREAKER] | None = _Default.BREAKER,
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
