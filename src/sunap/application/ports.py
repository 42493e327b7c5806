"""Ports: what the use cases need from the outside world, as Protocols the adapters fulfil."""

from __future__ import annotations

import builtins
import enum
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sunap.domain.billing_key import BillingKey
from sunap.domain.payment import Payment, PaymentStatus
from sunap.domain.subscription import Subscription, SubscriptionStatus

from .audit_kinds import AuditStatus, AuditType


class Clock(Protocol):
    def now(self) -> datetime: ...


class IdGenerator(Protocol):
    def new_id(self, prefix: str) -> str:
        """An opaque unique id such as `pay_…`."""
        ...


class ConcurrencyConflict(Exception):
    """Someone else changed the aggregate since we read it; retry from a fresh read."""


# -- payments ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentQuery:
    order_id: str | None = None
    customer_key: str | None = None
    status: PaymentStatus | None = None
    limit: int = 20
    cursor: str | None = None  # opaque, from a previous page
    subscription_id: str | None = None  # one subscription's charges


@dataclass(frozen=True)
class PaymentPage:
    items: list[Payment]
    next_cursor: str | None


class PaymentRepository(Protocol):
    def add(self, payment: Payment) -> None:
        """Insert on commit. A second payment for one (tenant, orderId) or (PG account, orderId)
        fails the commit with DuplicateOrderId; a claim of a paymentKey another payment of the
        account holds fails it with PaymentKeyTaken."""
        ...

    async def get(
        self, tenant_id: str, payment_id: str, *, for_update: bool = False
    ) -> Payment | None: ...

    async def get_by_order_id(
        self, tenant_id: str, order_id: str, *, for_update: bool = False
    ) -> Payment | None: ...

    async def get_by_payment_key(
        self, pg_account_id: str, payment_key: str, *, for_update: bool = False
    ) -> Payment | None:
        """Across tenants, within one PG account (where payment keys are unique): for webhooks
        and look-up answers, which carry no tenant."""
        ...

    async def get_by_account_order(
        self, pg_account_id: str, order_id: str, *, for_update: bool = False
    ) -> Payment | None:
        """Across tenants, within one PG account (where orderIds are unique): for
        DEPOSIT_CALLBACK webhooks, which name only an orderId."""
        ...

    async def get_any_tenant(self, payment_id: str, *, for_update: bool = False) -> Payment | None:
        """Across tenants: for workers."""
        ...

    async def list(self, tenant_id: str, query: PaymentQuery) -> PaymentPage: ...

    async def due_for_reconcile(self, now: datetime, limit: int) -> builtins.list[str]:
        """Ids of payments whose next_reconcile_at has passed, oldest first."""
        ...

    async def lease_for_reconcile(
        self, payment_id: str, seen_at: datetime, until: datetime
    ) -> bool:
        """Move next_reconcile_at from `seen_at` to `until` atomically: True if this caller won
        the item, so two workers never reconcile one payment at once."""
        ...

    async def ready_created_before(self, cutoff: datetime, limit: int) -> builtins.list[str]:
        """Ids of READY payments created at or before `cutoff`, oldest first."""
        ...

    async def claim_cancel_turn(
        self, tenant_id: str, payment_id: str, now: datetime, hold_until: datetime
    ) -> datetime | None:
        """Take the payment's turn to send a cancel to the PG, holding it until `hold_until`,
        if it is free at `now` (a conditional UPDATE, taking effect at once like
        `lease_for_reconcile`'s): None when taken (or when there is no such payment), else the
        moment it frees. One turn per payment, shared by every process on the database."""
        ...

    async def end_cancel_turn(
        self, tenant_id: str, payment_id: str, held_until: datetime, next_at: datetime
    ) -> None:
        """Free the turn held until `held_until` from `next_at` on (unless it was taken over)."""
        ...


# -- billing keys and subscriptions --------------------------------------------------------


@dataclass(frozen=True)
class BillingQuery:
    customer_key: str | None = None
    status: str | None = None  # a BillingKeyStatus or SubscriptionStatus value
    limit: int = 20
    cursor: str | None = None


@dataclass(frozen=True)
class BillingKeyPage:
    items: list[BillingKey]
    next_cursor: str | None


@dataclass(frozen=True)
class SubscriptionPage:
    items: list[Subscription]
    next_cursor: str | None


class BillingKeyRepository(Protocol):
    def add(self, key: BillingKey) -> None: ...

    async def get(
        self, tenant_id: str, key_id: str, *, for_update: bool = False
    ) -> BillingKey | None: ...

    async def get_any_tenant(self, key_id: str, *, for_update: bool = False) -> BillingKey | None:
        """For workers and the PG's deletion notice, which carry no tenant."""
        ...

    async def get_by_digest(
        self, pg_account_id: str, digest: str, *, for_update: bool = False
    ) -> BillingKey | None:
        """The key whose PG credential has this sha256, within one PG account."""
        ...

    async def list(self, tenant_id: str, query: BillingQuery) -> BillingKeyPage: ...


class SubscriptionRepository(Protocol):
    def add(self, subscription: Subscription) -> None: ...

    async def get(
        self, tenant_id: str, subscription_id: str, *, for_update: bool = False
    ) -> Subscription | None: ...

    async def get_any_tenant(
        self, subscription_id: str, *, for_update: bool = False
    ) -> Subscription | None: ...

    async def list(self, tenant_id: str, query: BillingQuery) -> SubscriptionPage: ...

    async def live_on_billing_key(self, billing_key_id: str) -> builtins.list[str]:
        """Ids of the subscriptions charged to the key that are not CANCELED."""
        ...

    async def due(self, now: datetime, limit: int) -> builtins.list[str]:
        """Ids of subscriptions whose next charge (or end) has come and no charge is in flight,
        soonest first."""
        ...

    async def charging(self, limit: int) -> builtins.list[tuple[str, str]]:
        """(subscription id, payment id) of the charges claimed and not yet settled."""
        ...

    async def count_by_status(self) -> dict[SubscriptionStatus, int]: ...


# -- audit ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditEntry:
    id: str
    tenant_id: str
    payment_id: str
    # Written as audit_kinds.py names them. Read back, a value with no member stays the stored
    # string: a pg./webhook. type, or whatever an older version wrote.
    type: AuditType | str
    status: AuditStatus | str
    request_data: dict[str, Any] | None
    response_data: dict[str, Any] | None
    processing_time_ms: int | None
    created_at: datetime


class AuditLog(Protocol):
    def add(self, entry: AuditEntry) -> None: ...

    async def list_for_payment(self, tenant_id: str, payment_id: str) -> list[AuditEntry]: ...


# -- the unit of work ----------------------------------------------------------------------


class UnitOfWork(Protocol):
    """One database transaction. On commit it saves every aggregate its repositories handed out
    (refusing stale versions with ConcurrencyConflict) and writes each one's new events to the
    outbox in the same transaction. Leaving the block without commit rolls back."""

    payments: PaymentRepository
    billing_keys: BillingKeyRepository
    subscriptions: SubscriptionRepository
    audit: AuditLog

    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]


# -- inbound idempotency -------------------------------------------------------------------


class ClaimOutcome(enum.Enum):
    NEW = "new"  # this caller owns the key: execute, then finish or release
    REPLAY = "replay"  # finished before: replay `response`
    IN_FLIGHT = "in_flight"  # another request holds it
    MISMATCH = "mismatch"  # same key, different method/path/body


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: bytes
    content_type: str


@dataclass(frozen=True)
class IdempotencyClaim:
    outcome: ClaimOutcome
    response: StoredResponse | None = None


class IdempotencyStore(Protocol):
    async def claim(
        self, tenant_id: str, key: str, fingerprint: str, now: datetime, lock_until: datetime
    ) -> IdempotencyClaim:
        """Atomically claim (tenant, key). A lock older than lock_until of its holder is stale and
        taken over. Keys older than the retention period are treated as new."""
        ...

    async def finish(self, tenant_id: str, key: str, response: StoredResponse) -> None: ...

    async def release(self, tenant_id: str, key: str) -> None:
        """Forget a claim whose request must not be replayed (rejected before execution, or an
        unknown PG outcome): the client may retry with the same key."""
        ...


# -- API keys and tenants ------------------------------------------------------------------


@dataclass(frozen=True)
class ApiKeyRecord:
    key_id: str
    tenant_id: str
    tenant_name: str
    scopes: frozenset[str]


@dataclass(frozen=True)
class TenantRef:
    id: str
    pg_account_id: str  # where the tenant's new payments are made


class ApiKeyStore(Protocol):
    async def ensure_tenant(self, name: str, new_id: str) -> str:
        """The tenant's id, creating the tenant if it is new."""
        ...

    async def add_key(
        self, *, key_id: str, tenant_id: str, key_hash: str, scopes: frozenset[str], now: datetime
    ) -> None: ...

    async def find_by_hash(self, key_hash: str) -> ApiKeyRecord | None: ...

    async def account_of(self, tenant_id: str) -> str:
        """The PG account the tenant's new payments are made on (it moves with `set-toss`)."""
        ...

    async def tenant_id_by_name(self, name: str) -> str | None: ...

    async def find_tenant(self, name: str) -> TenantRef | None: ...


# -- events out and in ---------------------------------------------------------------------


@dataclass(frozen=True)
class OutboundMessage:
    topic: str  # e.g. "commerce.payment.completed"
    key: str  # the payment id: brokers keep order per key
    event_id: str  # the CloudEvents id; consumers dedupe on it
    body: bytes  # the CloudEvents envelope as JSON


class PublishFailed(Exception):
    """The broker did not acknowledge every message; none may be marked published."""


class EventPublisher(Protocol):
    async def start(self) -> None: ...

    async def publish(self, messages: Sequence[OutboundMessage]) -> None:
        """Return only once the broker acknowledged every message, in the given order per key;
        raise PublishFailed otherwise."""
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class InboundMessage:
    topic: str
    body: bytes
    message_id: str | None  # the broker's id when it has one


MessageHandler = Callable[[InboundMessage], Awaitable[None]]


class MessageSubscriber(Protocol):
    async def run(self, topic: str, group: str, handler: MessageHandler) -> None:
        """Deliver messages of `topic` to `handler` until cancelled. A message is acknowledged
        only after the handler returns; if the handler raises, it is redelivered later."""
        ...

    async def close(self) -> None: ...


# -- webhook inbox -------------------------------------------------------------------------


class DeliveryStatus(enum.StrEnum):
    RECEIVED = "RECEIVED"  # stored, not yet processed
    APPLIED = "APPLIED"  # processed; it changed or confirmed a payment
    UNMATCHED = "UNMATCHED"  # no payment of ours matches it
    IGNORED = "IGNORED"  # an event type we record but do not act on
    REJECTED = "REJECTED"  # processed and refused (e.g. the PG denies what it claims)
    FAILED = "FAILED"  # processing kept failing; an operator can replay it


@dataclass(frozen=True)
class WebhookDelivery:
    id: str
    dedup_key: str  # starts with the PG account's id: accounts never share a delivery
    pg_account_id: str  # the account whose webhook URL it arrived at
    event_type: str  # "PAYMENT_STATUS_CHANGED", "DEPOSIT_CALLBACK", …
    headers: dict[str, str]
    body: bytes  # as kept: secrets digested, accounts masked (WebhookFormat.kept_body)
    received_at: datetime
    status: DeliveryStatus = DeliveryStatus.RECEIVED
    attempts: int = 0
    next_attempt_at: datetime | None = None
    payment_id: str | None = None
    last_error: str | None = None
    processed_at: datetime | None = None


class WebhookInbox(Protocol):
    async def record(self, delivery: WebhookDelivery) -> int:
        """Store a delivery in its own transaction and answer 0; a delivery whose dedup_key was
        seen before is not stored, and the answer is how often it has now been repeated."""
        ...

    async def claim_due(
        self, now: datetime, lease_until: datetime, limit: int
    ) -> list[WebhookDelivery]:
        """RECEIVED deliveries whose next_attempt_at (or received_at) has passed, leased to this
        caller until lease_until so that two processors never take the same one."""
        ...

    async def settle(
        self,
        delivery_id: str,
        *,
        status: DeliveryStatus,
        now: datetime,
        payment_id: str | None = None,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> None:
        """Record the outcome; with retry_at the delivery stays RECEIVED and is retried then."""
        ...

    async def get(self, delivery_id: str) -> WebhookDelivery | None: ...

    async def recent(self, limit: int) -> list[WebhookDelivery]: ...

    async def requeue(self, delivery_id: str, now: datetime) -> bool:
        """Operator replay: make a delivery RECEIVED and due now."""
        ...

    async def prune(self, received_before: datetime, limit: int) -> int:
        """Forget up to `limit` deliveries received before the cutoff; how many were."""
        ...


# -- outbox relay --------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxRow:
    seq: int
    id: str
    aggregatetype: str
    aggregateid: str
    type: str
    payload: bytes  # the CloudEvents envelope as JSON


class OutboxBatch(Protocol):
    rows: list[OutboxRow]

    async def mark_published(self, now: datetime) -> None: ...


class OutboxStore(Protocol):
    def batch(self, limit: int) -> AbstractAsyncContextManager[OutboxBatch]:
        """`async with store.batch(limit) as batch:` locks up to `limit` unpublished rows (oldest
        first, never a row whose aggregate has an older unpublished row, SKIP LOCKED so several
        relays can run); rows not marked published by the end of the block stay unpublished."""
        ...

    async def lag(self, now: datetime) -> tuple[int, float]:
        """(unpublished rows, age in seconds of the oldest one)."""
        ...


# -- consumed messages (order events) ------------------------------------------------------


class ConsumedMessages(Protocol):
    async def first_time(
        self, subscriber: str, message_key: str, outcome: str, detail: str | None, now: datetime
    ) -> bool:
        """Record a consumed message; False if (subscriber, message_key) was recorded before."""
        ...
