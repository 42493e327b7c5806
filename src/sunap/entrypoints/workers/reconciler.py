"""The reconciler worker: settles every unknown PG outcome that has fallen due, and keeps the
gauges of the payments in doubt up to date (read every few seconds, not at each scrape)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from sunap.application.deps import Deps
from sunap.application.reconcile import reconcile_due
from sunap.entrypoints.metrics import Metrics

from .loop import Worker

MEASURE_EVERY_SECONDS = 15.0


def reconciler_worker(
    deps: Deps,
    metrics: Metrics,
    poll_seconds: float,
    measure_doubt: Callable[[], Awaitable[None]] | None = None,
) -> Worker:
    measured_at: float | None = None

    async def step() -> int:
        nonlocal measured_at
        outcomes = await reconcile_due(deps)
        for outcome in outcomes.values():
            metrics.reconcile_runs.labels(outcome=outcome.value).inc()
        due = measured_at is None or time.monotonic() - measured_at > MEASURE_EVERY_SECONDS
        if measure_doubt is not None and (outcomes or due):
            await measure_doubt()
            measured_at = time.monotonic()
        return len(outcomes)

    return Worker("reconciler", step, poll_seconds)
