"""The subscription scheduler worker: charges every subscription whose next charge has come,
and keeps the `sunap_subscriptions{status}` gauge up to date."""

from __future__ import annotations

import time

from sunap.application.billing_scheduler import (
    UNCHANGED,
    ChargeLine,
    run_due,
    subscriptions_by_status,
)
from sunap.application.deps import Deps
from sunap.entrypoints.metrics import Metrics

from .loop import Worker

COUNT_EVERY_SECONDS = 15.0


def scheduler_worker(deps: Deps, metrics: Metrics, poll_seconds: float) -> Worker:
    counted_at: float | None = None

    def count_charge(line: ChargeLine) -> None:  # as it ends: a long pass may be cut short
        metrics.subscription_charges.labels(outcome=line.outcome).inc()

    async def step() -> int:
        nonlocal counted_at
        lines = await run_due(deps, on_line=count_charge)
        if lines or counted_at is None or time.monotonic() - counted_at > COUNT_EVERY_SECONDS:
            for status, count in (await subscriptions_by_status(deps)).items():
                metrics.subscriptions.labels(status=status).set(count)
            counted_at = time.monotonic()
        # A pass that found only what it cannot charge did nothing: it waits for the next poll
        # rather than reading the same blocked rows again at once, over and over.
        return sum(1 for line in lines if line.outcome not in UNCHANGED)

    return Worker("scheduler", step, poll_seconds)
