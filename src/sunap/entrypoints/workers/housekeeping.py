"""Housekeeping: webhook deliveries are forgotten after the retention period, in small batches,
so the inbox never grows without bound (their dedup keys go with them)."""

from __future__ import annotations

from datetime import timedelta

from sunap.application.ports.system import Clock
from sunap.application.ports.webhook_inbox import WebhookInbox

from .loop import Worker

BATCH = 500
EVERY_SECONDS = 600.0


def housekeeping_worker(
    inbox: WebhookInbox,
    clock: Clock,
    webhook_retention: timedelta,
    poll_seconds: float = EVERY_SECONDS,
) -> Worker:
    async def step() -> int:
        return await inbox.prune(clock.now() - webhook_retention, BATCH)

    return Worker("housekeeping", step, poll_seconds)
