"""Toss's webhook deliveries, kept before they are acted on."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


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


@dataclass(frozen=True)
class Recorded:
    """Where a delivery was kept: its own id, or, for a repeat, the id of the delivery stored
    first, and how often that one has now been repeated (0: stored now)."""

    delivery_id: str
    repeats: int


class WebhookInbox(Protocol):
    async def record(self, delivery: WebhookDelivery) -> Recorded:
        """Store a delivery in its own transaction; a delivery whose dedup_key was seen before
        is not stored, and the answer names the one that was."""
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
        body: bytes | None = None,
    ) -> None:
        """Record the outcome; with retry_at the delivery stays RECEIVED and is retried then;
        with `body`, what is kept of the delivery from now on."""
        ...

    async def get(self, delivery_id: str) -> WebhookDelivery | None: ...

    async def recent(self, limit: int) -> list[WebhookDelivery]: ...

    async def requeue(self, delivery_id: str, now: datetime) -> bool:
        """Operator replay: make a delivery RECEIVED and due now."""
        ...

    async def prune(self, received_before: datetime, limit: int) -> int:
        """Forget up to `limit` deliveries received before the cutoff; how many were."""
        ...
