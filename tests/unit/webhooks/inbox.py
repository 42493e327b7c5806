"""An in-memory webhook inbox that keeps the promises of sunap.application.ports.WebhookInbox:
one row per dedup key (repeats counted), due deliveries leased to one caller, settle, requeue and
prune."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sunap.application.ports.webhook_inbox import DeliveryStatus, Recorded, WebhookDelivery


class InMemoryWebhookInbox:
    def __init__(self) -> None:
        self.rows: dict[str, WebhookDelivery] = {}
        self.leases: dict[str, datetime] = {}
        self.repeats: dict[str, int] = {}

    async def record(self, delivery: WebhookDelivery) -> Recorded:
        for first in self.rows.values():
            if first.dedup_key == delivery.dedup_key:
                self.repeats[delivery.dedup_key] = self.repeats.get(delivery.dedup_key, 0) + 1
                return Recorded(first.id, self.repeats[delivery.dedup_key])
        self.rows[delivery.id] = delivery
        return Recorded(delivery.id, 0)

    async def prune(self, received_before: datetime, limit: int) -> int:
        old = [i for i, d in self.rows.items() if d.received_at < received_before][:limit]
        for delivery_id in old:
            del self.rows[delivery_id]
        return len(old)

    async def claim_due(
        self, now: datetime, lease_until: datetime, limit: int
    ) -> list[WebhookDelivery]:
        due = [
            d
            for d in self.rows.values()
            if d.status is DeliveryStatus.RECEIVED
            and (d.next_attempt_at or d.received_at) <= now
            and self.leases.get(d.id, now) <= now
        ]
        due.sort(key=lambda d: (d.next_attempt_at or d.received_at, d.id))
        claimed = []
        for d in due[:limit]:
            self.leases[d.id] = lease_until
            self.rows[d.id] = dataclasses.replace(d, attempts=d.attempts + 1)
            claimed.append(self.rows[d.id])
        return claimed

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
        d = self.rows[delivery_id]
        self.leases.pop(delivery_id, None)
        changes: dict[str, object] = {"last_error": error}
        if body is not None:
            changes["body"] = body
        if payment_id is not None:
            changes["payment_id"] = payment_id
        if retry_at is not None:
            changes |= {"status": DeliveryStatus.RECEIVED, "next_attempt_at": retry_at}
        else:
            changes |= {"status": status, "processed_at": now}
        self.rows[delivery_id] = dataclasses.replace(d, **changes)  # type: ignore[arg-type]

    async def get(self, delivery_id: str) -> WebhookDelivery | None:
        return self.rows.get(delivery_id)

    async def recent(self, limit: int) -> list[WebhookDelivery]:
        newest = sorted(self.rows.values(), key=lambda d: (d.received_at, d.id), reverse=True)
        return newest[:limit]

    async def requeue(self, delivery_id: str, now: datetime) -> bool:
        d = self.rows.get(delivery_id)
        if d is None or self.leases.get(delivery_id, now) > now:
            return False
        self.rows[delivery_id] = dataclasses.replace(
            d, status=DeliveryStatus.RECEIVED, next_attempt_at=now, processed_at=None
        )
        return True

    def only(self) -> WebhookDelivery:
        (delivery,) = self.rows.values()
        return delivery
