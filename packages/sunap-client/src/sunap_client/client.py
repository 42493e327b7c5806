"""`SunapClient` and `AsyncSunapClient`: the same calls, one blocking and one for asyncio.

Every POST carries an Idempotency-Key (the caller's, or a fresh one) that stays the same across
this client's own retries, so a retried confirm, cancel or charge runs at most once at Sunap.
GETs, keyed POSTs, and the PATCH and DELETE of billing (the same change however often sent) are
retried on 429 (after its Retry-After), 5xx, and answers that never came.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import httpx

from . import calls
from .billing import AsyncBillingKeys, AsyncSubscriptions, BillingKeys, Subscriptions
from .calls import Call, RetryPolicy
from .errors import RateLimited, SunapError
from .models import Payment, PaymentPage, PaymentStatus, RefundAccount, Transaction

USER_AGENT = "sunap-client/0.1.0"


def _headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}", "User-Agent": USER_AGENT}


def _wait_hint(error: SunapError) -> float | None:
    return error.retry_after if isinstance(error, RateLimited) else None


class SunapClient:
    """A blocking client. Close it (or use `with`) to release its connections.

    >>> with SunapClient("http://127.0.0.1:8087", api_key) as sunap:
    ...     payment = sunap.payments.create(order_name="생수 외 1건", amount=15000)
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url, headers=_headers(api_key), timeout=timeout, transport=transport
        )
        self._retry = retry or RetryPolicy()
        self.payments = Payments(self)
        self.billing_keys = BillingKeys(self)
        self.subscriptions = Subscriptions(self)

    def __enter__(self) -> SunapClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def send(self, call: Call) -> Any:
        """Send `call`, retrying what is safe to retry; the answer's JSON or a `SunapError`."""
        attempt = 0
        while True:
            try:
                response = self._http.request(
                    call.method, call.path, json=call.json, params=call.params,
                    headers=call.headers(),
                )  # fmt: skip
                return calls.outcome(response)
            except httpx.TransportError as cause:
                error = calls.no_answer(call, cause)
            except SunapError as refused:
                error = refused
            wait = self._retry.delay(attempt, _wait_hint(error)) if calls.may_retry(error) else None
            if wait is None:
                raise error
            time.sleep(wait)
            attempt += 1


class AsyncSunapClient:
    """The asyncio client. Close it (or use `async with`) to release its connections."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url, headers=_headers(api_key), timeout=timeout, transport=transport
        )
        self._retry = retry or RetryPolicy()
        self.payments = AsyncPayments(self)
        self.billing_keys = AsyncBillingKeys(self)
        self.subscriptions = AsyncSubscriptions(self)

    async def __aenter__(self) -> AsyncSunapClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send(self, call: Call) -> Any:
        attempt = 0
        while True:
            try:
                response = await self._http.request(
                    call.method, call.path, json=call.json, params=call.params,
                    headers=call.headers(),
                )  # fmt: skip
                return calls.outcome(response)
            except httpx.TransportError as cause:
                error = calls.no_answer(call, cause)
            except SunapError as refused:
                error = refused
            wait = self._retry.delay(attempt, _wait_hint(error)) if calls.may_retry(error) else None
            if wait is None:
                raise error
            await asyncio.sleep(wait)
            attempt += 1


class Payments:
    """`/v1/payments` (docs/api.md, "Payments")."""

    def __init__(self, client: SunapClient) -> None:
        self._client = client

    def create(
        self,
        *,
        order_name: str,
        amount: int,
        order_id: str | None = None,
        currency: str | None = None,
        customer_key: str | None = None,
        method: str | None = None,
        success_url: str | None = None,
        fail_url: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Payment:
        """A payment in READY for an order; Sunap mints an orderId when none is given."""
        call = calls.create_payment(
            order_name=order_name, amount=amount, order_id=order_id, currency=currency,
            customer_key=customer_key, method=method, success_url=success_url,
            fail_url=fail_url, metadata=metadata, idempotency_key=idempotency_key,
        )  # fmt: skip
        return Payment.from_json(self._client.send(call))

    def confirm(
        self, *, payment_key: str, order_id: str, amount: int, idempotency_key: str | None = None
    ) -> Payment:
        """Confirm what the Toss widget came back with: DONE or WAITING_FOR_DEPOSIT."""
        call = calls.confirm_payment(
            payment_key=payment_key, order_id=order_id, amount=amount,
            idempotency_key=idempotency_key,
        )  # fmt: skip
        return Payment.from_json(self._client.send(call))

    def get(self, payment_id: str) -> Payment:
        return Payment.from_json(self._client.send(calls.get_payment(payment_id)))

    def list(
        self,
        *,
        order_id: str | None = None,
        customer_key: str | None = None,
        status: PaymentStatus | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> PaymentPage:
        """One page, newest first; pass its `next_cursor` as `cursor` for the next."""
        call = calls.list_payments(
            order_id=order_id, customer_key=customer_key, status=status, limit=limit,
            cursor=cursor,
        )  # fmt: skip
        return PaymentPage.from_json(self._client.send(call))

    def iterate(
        self,
        *,
        order_id: str | None = None,
        customer_key: str | None = None,
        status: PaymentStatus | None = None,
        page_size: int | None = None,
    ) -> Iterator[Payment]:
        """Every matching payment, newest first, fetching pages as the loop needs them."""
        cursor: str | None = None
        while True:
            page = self.list(
                order_id=order_id, customer_key=customer_key, status=status, limit=page_size,
                cursor=cursor,
            )  # fmt: skip
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def cancel(
        self,
        payment_id: str,
        *,
        cancel_reason: str,
        cancel_amount: int | None = None,
        tax_free_amount: int | None = None,
        refund_receive_account: RefundAccount | None = None,
        idempotency_key: str | None = None,
    ) -> Payment:
        """Cancel `cancel_amount`, or the whole balance when it is None."""
        call = calls.cancel_payment(
            payment_id, cancel_reason=cancel_reason, cancel_amount=cancel_amount,
            tax_free_amount=tax_free_amount, refund_receive_account=refund_receive_account,
            idempotency_key=idempotency_key,
        )  # fmt: skip
        return Payment.from_json(self._client.send(call))

    def transactions(self, payment_id: str) -> tuple[Transaction, ...]:
        """The payment's audit trail, oldest first."""
        body = self._client.send(calls.payment_transactions(payment_id))
        return tuple(Transaction.from_json(entry) for entry in body["items"])


class AsyncPayments:
    """`/v1/payments` for asyncio: the same calls as `Payments`."""

    def __init__(self, client: AsyncSunapClient) -> None:
        self._client = client

    async def create(
        self,
        *,
        order_name: str,
        amount: int,
        order_id: str | None = None,
        currency: str | None = None,
        customer_key: str | None = None,
        method: str | None = None,
        success_url: str | None = None,
        fail_url: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Payment:
        call = calls.create_payment(
            order_name=order_name, amount=amount, order_id=order_id, currency=currency,
            customer_key=customer_key, method=method, success_url=success_url,
            fail_url=fail_url, metadata=metadata, idempotency_key=idempotency_key,
        )  # fmt: skip
        return Payment.from_json(await self._client.send(call))

    async def confirm(
        self, *, payment_key: str, order_id: str, amount: int, idempotency_key: str | None = None
    ) -> Payment:
        call = calls.confirm_payment(
            payment_key=payment_key, order_id=order_id, amount=amount,
            idempotency_key=idempotency_key,
        )  # fmt: skip
        return Payment.from_json(await self._client.send(call))

    async def get(self, payment_id: str) -> Payment:
        return Payment.from_json(await self._client.send(calls.get_payment(payment_id)))

    async def list(
        self,
        *,
        order_id: str | None = None,
        customer_key: str | None = None,
        status: PaymentStatus | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> PaymentPage:
        call = calls.list_payments(
            order_id=order_id, customer_key=customer_key, status=status, limit=limit,
            cursor=cursor,
        )  # fmt: skip
        return PaymentPage.from_json(await self._client.send(call))

    async def iterate(
        self,
        *,
        order_id: str | None = None,
        customer_key: str | None = None,
        status: PaymentStatus | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[Payment]:
        cursor: str | None = None
        while True:
            page = await self.list(
                order_id=order_id, customer_key=customer_key, status=status, limit=page_size,
                cursor=cursor,
            )  # fmt: skip
            for payment in page.items:
                yield payment
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def cancel(
        self,
        payment_id: str,
        *,
        cancel_reason: str,
        cancel_amount: int | None = None,
        tax_free_amount: int | None = None,
        refund_receive_account: RefundAccount | None = None,
        idempotency_key: str | None = None,
    ) -> Payment:
        call = calls.cancel_payment(
            payment_id, cancel_reason=cancel_reason, cancel_amount=cancel_amount,
            tax_free_amount=tax_free_amount, refund_receive_account=refund_receive_account,
            idempotency_key=idempotency_key,
        )  # fmt: skip
        return Payment.from_json(await self._client.send(call))

    async def transactions(self, payment_id: str) -> tuple[Transaction, ...]:
        body = await self._client.send(calls.payment_transactions(payment_id))
        return tuple(Transaction.from_json(entry) for entry in body["items"])
