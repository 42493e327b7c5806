"""A PaymentGateway that reports how every call ended, for metrics and logs.

It wraps any gateway, so the PG client itself knows nothing of Prometheus: each call is timed,
its outcome read from the exchange the adapter classified (a PgOutcome), and the PG's trace id
bound to the log context of the request or job that made the call.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from . import log_context
from .ports.gateway import (
    BillingAuthorization,
    GatewayAlreadyProcessed,
    GatewayDeclined,
    GatewayError,
    GatewayExchange,
    GatewayMisconfigured,
    GatewayNotFound,
    GatewayPayment,
    PaymentGateway,
    PgOperation,
    PgOutcome,
    RefundAccount,
)

# (operation, outcome, seconds) once a call has ended, however it ended.
CallEnded = Callable[[PgOperation, PgOutcome, float], None]
T = TypeVar("T")
# How an error the adapter gave no exchange for ended (the exchange says it when there is one).
_OUTCOMES: tuple[tuple[type[GatewayError], PgOutcome], ...] = (
    (GatewayDeclined, PgOutcome.DECLINED),
    (GatewayAlreadyProcessed, PgOutcome.ALREADY_PROCESSED),
    (GatewayNotFound, PgOutcome.NOT_FOUND),
    (GatewayMisconfigured, PgOutcome.MISCONFIGURED),
)


# The operations the methods below report, one or more methods each: metrics give every one its
# series from the start (a test holds this list to the methods).
OBSERVED_OPERATIONS = (
    PgOperation.CONFIRM,
    PgOperation.LOOKUP,
    PgOperation.CANCEL,
    PgOperation.BILLING_ISSUE,
    PgOperation.BILLING_CHARGE,
    PgOperation.BILLING_DELETE,
)


class ObservedGateway:
    def __init__(
        self,
        inner: PaymentGateway,
        call_ended: CallEnded,
        monotonic: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._inner = inner
        self._call_ended = call_ended
        self._monotonic = monotonic

    @property
    def key_id(self) -> str:
        return self._inner.key_id

    def accepts_new_operations(self) -> bool:
        return self._inner.accepts_new_operations()

    async def confirm(
        self, *, payment_key: str, order_id: str, amount: int, idempotency_key: str
    ) -> GatewayPayment:
        return await self._observe(
            PgOperation.CONFIRM,
            self._inner.confirm(
                payment_key=payment_key,
                order_id=order_id,
                amount=amount,
                idempotency_key=idempotency_key,
            ),
        )

    async def lookup_by_order_id(self, order_id: str) -> GatewayPayment:
        return await self._observe(PgOperation.LOOKUP, self._inner.lookup_by_order_id(order_id))

    async def lookup_by_payment_key(self, payment_key: str) -> GatewayPayment:
        return await self._observe(
            PgOperation.LOOKUP, self._inner.lookup_by_payment_key(payment_key)
        )

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
        return await self._observe(
            PgOperation.CANCEL,
            self._inner.cancel(
                payment_key=payment_key,
                reason=reason,
                amount=amount,
                idempotency_key=idempotency_key,
                refund_account=refund_account,
                tax_free_amount=tax_free_amount,
            ),
        )

    async def issue_billing_key(
        self, *, auth_key: str, customer_key: str, idempotency_key: str
    ) -> BillingAuthorization:
        return await self._observe(
            PgOperation.BILLING_ISSUE,
            self._inner.issue_billing_key(
                auth_key=auth_key, customer_key=customer_key, idempotency_key=idempotency_key
            ),
        )

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
        return await self._observe(
            PgOperation.BILLING_CHARGE,
            self._inner.charge_billing_key(
                billing_key=billing_key,
                customer_key=customer_key,
                order_id=order_id,
                order_name=order_name,
                amount=amount,
                idempotency_key=idempotency_key,
                tax_free_amount=tax_free_amount,
            ),
        )

    async def delete_billing_key(self, billing_key: str) -> None:
        await self._observe(PgOperation.BILLING_DELETE, self._inner.delete_billing_key(billing_key))

    async def _observe(self, operation: PgOperation, call: Awaitable[T]) -> T:
        started = self._monotonic()
        try:
            result = await call
        except GatewayError as error:
            outcome = next(
                (o for kind, o in _OUTCOMES if isinstance(error, kind)), PgOutcome.UNKNOWN
            )
            self._ended(operation, error.exchange, outcome, started)
            raise
        exchange = getattr(result, "exchange", None)
        self._ended(
            operation,
            exchange if isinstance(exchange, GatewayExchange) else None,
            PgOutcome.OK,
            started,
        )
        return result

    def _ended(
        self,
        operation: PgOperation,
        exchange: GatewayExchange | None,
        outcome: PgOutcome,
        started: float,
    ) -> None:
        if exchange is not None:
            outcome = exchange.outcome
            if exchange.trace_id is not None:
                log_context.bind(toss_trace_id=exchange.trace_id)
        self._call_ended(operation, outcome, self._monotonic() - started)
