"""The subscription scheduler worker: charges every subscription whose next charge has come."""

from __future__ import annotations

from sunap.application.billing_scheduler import run_due
from sunap.application.deps import Deps
from sunap.entrypoints.metrics import Metrics

from .loop import Worker


def scheduler_worker(deps: Deps, metrics: Metrics, poll_seconds: float) -> Worker:
    async def step() -> int:
        lines = await run_due(deps)
        for line in lines:
            metrics.subscription_charges.labels(outcome=line.outcome).inc()
        return sum(1 for line in lines if line.outcome != "skipped")

    return Worker("scheduler", step, poll_seconds)
