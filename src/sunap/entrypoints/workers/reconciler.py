"""The reconciler worker: settles every unknown PG outcome that has fallen due."""

from __future__ import annotations

from sunap.application.deps import Deps
from sunap.application.reconcile import reconcile_due
from sunap.entrypoints.metrics import Metrics

from .loop import Worker


def reconciler_worker(deps: Deps, metrics: Metrics, poll_seconds: float) -> Worker:
    async def step() -> int:
        outcomes = await reconcile_due(deps)
        for outcome in outcomes.values():
            metrics.reconcile_runs.labels(outcome=outcome.value).inc()
        return len(outcomes)

    return Worker("reconciler", step, poll_seconds)
