"""`/v1/billing-keys` and `/v1/subscriptions` (Sunap's docs/billing.md): a customer's registered
card, charged once or by a subscription, for the sync and the asyncio client alike."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Iterator, Mapping
from typing import Any, Protocol

from . import calls
from .calls import Call
from .models import (
    BillingKey,
    BillingKeyPage,
    BillingKeyStatus,
    Interval,
    Payment,
    PaymentPage,
    Subscription,
    SubscriptionPage,
    SubscriptionStatus,
)


class Sender(Protocol):
    def send(self, call: Call) -> Any: ...


class AsyncSender(Protocol):
    def send(self, call: Call) -> Awaitable[Any]: ...


class BillingKeys:
    """`/v1/billing-keys`: issue a key from what card registration handed back, look keys up,
    charge one now, delete one."""

    def __init__(self, client: Sender) -> None:
        self._client = client

    def issue(
        self, *, auth_key: str, customer_key: str, idempotency_key: str | None = None
    ) -> BillingKey:
        """The key for the `authKey` and `customerKey` Toss's `requestBillingAuth` redirected
        with. An authKey is good once: after an `OutcomeUnknown`, send the same authKey again."""
        call = calls.issue_billing_key(
            auth_key=auth_key, customer_key=customer_key, idempotency_key=idempotency_key
        )
        return BillingKey.from_json(self._client.send(call))

    def get(self, billing_key_id: str) -> BillingKey:
        return BillingKey.from_json(self._client.send(calls.get_billing_key(billing_key_id)))

    def list(
        self,
        *,
        customer_key: str | None = None,
        status: BillingKeyStatus | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> BillingKeyPage:
        """One page, newest first; pass its `next_cursor` as `cursor` for the next."""
        call = calls.list_billing_keys(
            customer_key=customer_key, status=status, limit=limit, cursor=cursor
        )
        return BillingKeyPage.from_json(self._client.send(call))

    def iterate(
        self,
        *,
        customer_key: str | None = None,
        status: BillingKeyStatus | None = None,
        page_size: int | None = None,
    ) -> Iterator[BillingKey]:
        """Every matching key, newest first, fetching pages as the loop needs them."""
        cursor: str | None = None
        while True:
            page = self.list(
                customer_key=customer_key, status=status, limit=page_size, cursor=cursor
            )
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def delete(self, billing_key_id: str) -> BillingKey:
        """Deleted at Toss, then at Sunap (`DELETED`); its live subscriptions are `CANCELED`."""
        return BillingKey.from_json(self._client.send(calls.delete_billing_key(billing_key_id)))

    def charge(
        self,
        billing_key_id: str,
        *,
        order_name: str,
        amount: int,
        order_id: str | None = None,
        tax_free_amount: int | None = None,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Payment:
        """One charge now: the payment `DONE`. Refused: `PaymentRejected` (its `.payment`
        `ABORTED`). Unknown: `OutcomeUnknown` with `.payment` `IN_PROGRESS`, which Sunap settles
        by itself; read it again by its id, and never charge again under a new key."""
        call = calls.charge_billing_key(
            billing_key_id, order_name=order_name, amount=amount, order_id=order_id,
            tax_free_amount=tax_free_amount, metadata=metadata, idempotency_key=idempotency_key,
        )  # fmt: skip
        return Payment.from_json(self._client.send(call))


class Subscriptions:
    """`/v1/subscriptions`: a plan charged to a billing key every period."""

    def __init__(self, client: Sender) -> None:
        self._client = client

    def create(
        self,
        *,
        customer_key: str,
        billing_key_id: str,
        plan: str,
        order_name: str,
        amount: int,
        interval: Interval,
        interval_count: int | None = None,
        trial_days: int | None = None,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Subscription:
        """`ACTIVE` with its first period charged, or `TRIALING` with `trial_days`. First charge
        refused: `PaymentRejected` with `.subscription` (`CANCELED`, `FIRST_CHARGE_FAILED`);
        unknown: `OutcomeUnknown` with `.subscription` `INCOMPLETE`, settled by Sunap."""
        call = calls.create_subscription(
            customer_key=customer_key, billing_key_id=billing_key_id, plan=plan,
            order_name=order_name, amount=amount, interval=interval,
            interval_count=interval_count, trial_days=trial_days, metadata=metadata,
            idempotency_key=idempotency_key,
        )  # fmt: skip
        return Subscription.from_json(self._client.send(call))

    def get(self, subscription_id: str) -> Subscription:
        return Subscription.from_json(self._client.send(calls.get_subscription(subscription_id)))

    def list(
        self,
        *,
        customer_key: str | None = None,
        status: SubscriptionStatus | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> SubscriptionPage:
        """One page, newest first; pass its `next_cursor` as `cursor` for the next."""
        call = calls.list_subscriptions(
            customer_key=customer_key, status=status, limit=limit, cursor=cursor
        )
        return SubscriptionPage.from_json(self._client.send(call))

    def iterate(
        self,
        *,
        customer_key: str | None = None,
        status: SubscriptionStatus | None = None,
        page_size: int | None = None,
    ) -> Iterator[Subscription]:
        """Every matching subscription, newest first, fetching pages as the loop needs them."""
        cursor: str | None = None
        while True:
            page = self.list(
                customer_key=customer_key, status=status, limit=page_size, cursor=cursor
            )
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def payments(
        self, subscription_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> PaymentPage:
        """One page of its charges, newest first."""
        call = calls.subscription_payments(subscription_id, limit=limit, cursor=cursor)
        return PaymentPage.from_json(self._client.send(call))

    def iterate_payments(
        self, subscription_id: str, *, page_size: int | None = None
    ) -> Iterator[Payment]:
        """Every charge of the subscription, newest first."""
        cursor: str | None = None
        while True:
            page = self.payments(subscription_id, limit=page_size, cursor=cursor)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def change(
        self,
        subscription_id: str,
        *,
        plan: str | None = None,
        amount: int | None = None,
        order_name: str | None = None,
        billing_key_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Subscription:
        """From the next charge on; nothing is prorated. Fields left None are kept."""
        call = calls.change_subscription(
            subscription_id, plan=plan, amount=amount, order_name=order_name,
            billing_key_id=billing_key_id, metadata=metadata,
        )  # fmt: skip
        return Subscription.from_json(self._client.send(call))

    def cancel(
        self,
        subscription_id: str,
        *,
        cancel_reason: str | None = None,
        at_period_end: bool = True,
        idempotency_key: str | None = None,
    ) -> Subscription:
        """At period end (the default): stays `ACTIVE` with `cancel_at_period_end`, ends at
        `current_period_end` uncharged. `at_period_end=False`: `CANCELED` now. Nothing is
        refunded."""
        call = calls.cancel_subscription(
            subscription_id, cancel_reason=cancel_reason, at_period_end=at_period_end,
            idempotency_key=idempotency_key,
        )  # fmt: skip
        return Subscription.from_json(self._client.send(call))

    def pause(self, subscription_id: str, *, idempotency_key: str | None = None) -> Subscription:
        """`PAUSED`: no charges until resumed."""
        call = calls.pause_subscription(subscription_id, idempotency_key=idempotency_key)
        return Subscription.from_json(self._client.send(call))

    def resume(self, subscription_id: str, *, idempotency_key: str | None = None) -> Subscription:
        """A paused or unpaid one: a new period, charged at once (a refusal makes it `PAST_DUE`).
        One canceled at period end: the cancel is undone and nothing is charged."""
        call = calls.resume_subscription(subscription_id, idempotency_key=idempotency_key)
        return Subscription.from_json(self._client.send(call))


class AsyncBillingKeys:
    """`/v1/billing-keys` for asyncio: the same calls as `BillingKeys`."""

    def __init__(self, client: AsyncSender) -> None:
        self._client = client

    async def issue(
        self, *, auth_key: str, customer_key: str, idempotency_key: str | None = None
    ) -> BillingKey:
        call = calls.issue_billing_key(
            auth_key=auth_key, customer_key=customer_key, idempotency_key=idempotency_key
        )
        return BillingKey.from_json(await self._client.send(call))

    async def get(self, billing_key_id: str) -> BillingKey:
        return BillingKey.from_json(await self._client.send(calls.get_billing_key(billing_key_id)))

    async def list(
        self,
        *,
        customer_key: str | None = None,
        status: BillingKeyStatus | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> BillingKeyPage:
        call = calls.list_billing_keys(
            customer_key=customer_key, status=status, limit=limit, cursor=cursor
        )
        return BillingKeyPage.from_json(await self._client.send(call))

    async def iterate(
        self,
        *,
        customer_key: str | None = None,
        status: BillingKeyStatus | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[BillingKey]:
        cursor: str | None = None
        while True:
            page = await self.list(
                customer_key=customer_key, status=status, limit=page_size, cursor=cursor
            )
            for key in page.items:
                yield key
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def delete(self, billing_key_id: str) -> BillingKey:
        call = calls.delete_billing_key(billing_key_id)
        return BillingKey.from_json(await self._client.send(call))

    async def charge(
        self,
        billing_key_id: str,
        *,
        order_name: str,
        amount: int,
        order_id: str | None = None,
        tax_free_amount: int | None = None,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Payment:
        call = calls.charge_billing_key(
            billing_key_id, order_name=order_name, amount=amount, order_id=order_id,
            tax_free_amount=tax_free_amount, metadata=metadata, idempotency_key=idempotency_key,
        )  # fmt: skip
        return Payment.from_json(await self._client.send(call))


class AsyncSubscriptions:
    """`/v1/subscriptions` for asyncio: the same calls as `Subscriptions`."""

    def __init__(self, client: AsyncSender) -> None:
        self._client = client

    async def create(
        self,
        *,
        customer_key: str,
        billing_key_id: str,
        plan: str,
        order_name: str,
        amount: int,
        interval: Interval,
        interval_count: int | None = None,
        trial_days: int | None = None,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Subscription:
        call = calls.create_subscription(
            customer_key=customer_key, billing_key_id=billing_key_id, plan=plan,
            order_name=order_name, amount=amount, interval=interval,
            interval_count=interval_count, trial_days=trial_days, metadata=metadata,
            idempotency_key=idempotency_key,
        )  # fmt: skip
        return Subscription.from_json(await self._client.send(call))

    async def get(self, subscription_id: str) -> Subscription:
        call = calls.get_subscription(subscription_id)
        return Subscription.from_json(await self._client.send(call))

    async def list(
        self,
        *,
        customer_key: str | None = None,
        status: SubscriptionStatus | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> SubscriptionPage:
        call = calls.list_subscriptions(
            customer_key=customer_key, status=status, limit=limit, cursor=cursor
        )
        return SubscriptionPage.from_json(await self._client.send(call))

    async def iterate(
        self,
        *,
        customer_key: str | None = None,
        status: SubscriptionStatus | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[Subscription]:
        cursor: str | None = None
        while True:
            page = await self.list(
                customer_key=customer_key, status=status, limit=page_size, cursor=cursor
            )
            for subscription in page.items:
                yield subscription
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def payments(
        self, subscription_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> PaymentPage:
        call = calls.subscription_payments(subscription_id, limit=limit, cursor=cursor)
        return PaymentPage.from_json(await self._client.send(call))

    async def iterate_payments(
        self, subscription_id: str, *, page_size: int | None = None
    ) -> AsyncIterator[Payment]:
        cursor: str | None = None
        while True:
            page = await self.payments(subscription_id, limit=page_size, cursor=cursor)
            for payment in page.items:
                yield payment
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def change(
        self,
        subscription_id: str,
        *,
        plan: str | None = None,
        amount: int | None = None,
        order_name: str | None = None,
        billing_key_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Subscription:
        call = calls.change_subscription(
            subscription_id, plan=plan, amount=amount, order_name=order_name,
            billing_key_id=billing_key_id, metadata=metadata,
        )  # fmt: skip
        return Subscription.from_json(await self._client.send(call))

    async def cancel(
        self,
        subscription_id: str,
        *,
        cancel_reason: str | None = None,
        at_period_end: bool = True,
        idempotency_key: str | None = None,
    ) -> Subscription:
        call = calls.cancel_subscription(
            subscription_id, cancel_reason=cancel_reason, at_period_end=at_period_end,
            idempotency_key=idempotency_key,
        )  # fmt: skip
        return Subscription.from_json(await self._client.send(call))

    async def pause(
        self, subscription_id: str, *, idempotency_key: str | None = None
    ) -> Subscription:
        call = calls.pause_subscription(subscription_id, idempotency_key=idempotency_key)
        return Subscription.from_json(await self._client.send(call))

    async def resume(
        self, subscription_id: str, *, idempotency_key: str | None = None
    ) -> Subscription:
        call = calls.resume_subscription(subscription_id, idempotency_key=idempotency_key)
        return Subscription.from_json(await self._client.send(call))
