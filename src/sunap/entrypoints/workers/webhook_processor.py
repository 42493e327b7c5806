"""The webhook processor worker: applies stored deliveries, whether or not the API is running."""

from __future__ import annotations

from sunap.application.deps import Deps
from sunap.application.ports.webhook_inbox import DeliveryStatus, WebhookDelivery, WebhookInbox
from sunap.application.webhook_lookups import PgLookups
from sunap.application.webhook_processing import process_due_webhooks
from sunap.entrypoints.metrics import Metrics

from .loop import Worker


def webhook_worker(
    inbox: WebhookInbox, deps: Deps, metrics: Metrics, poll_seconds: float
) -> Worker:
    # One per process: look-ups of one payment are coalesced across its deliveries.
    lookups = PgLookups(deps.clock.now)

    def settled(delivery: WebhookDelivery, status: DeliveryStatus) -> None:
        metrics.webhook_delivery(delivery.event_type, status.value.lower())

    async def step() -> int:
        return await process_due_webhooks(inbox, deps, lookups, on_settled=settled)

    return Worker("webhooks", step, poll_seconds)
