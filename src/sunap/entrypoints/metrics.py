"""Prometheus metrics, one registry per process, created by bootstrap (never at import time)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.outbox_unpublished = Gauge(
            "sunap_outbox_unpublished", "Outbox events not yet published", registry=r
        )
        self.outbox_lag_seconds = Gauge(
            "sunap_outbox_lag_seconds", "Age of the oldest unpublished outbox event", registry=r
        )
        self.outbox_published = Counter(
            "sunap_outbox_published", "Outbox events published", registry=r
        )
        self.relay_errors = Counter(
            "sunap_relay_errors", "Failed outbox publish attempts", registry=r
        )
        self.reconcile_runs = Counter(
            "sunap_reconcile_outcomes", "Reconciler outcomes", ["outcome"], registry=r
        )
        self.subscription_charges = Counter(
            "sunap_subscription_charges",
            "Due subscriptions the scheduler handled, by outcome",
            ["outcome"],
            registry=r,
        )
        self.subscriptions = Gauge(
            "sunap_subscriptions", "Subscriptions by status", ["status"], registry=r
        )
        self.webhooks_processed = Counter(
            "sunap_webhooks_processed", "Webhook deliveries processed", ["status"], registry=r
        )
        self.orders_consumed = Counter(
            "sunap_orders_consumed",
            "order.placed messages handled, by outcome (created, duplicate, rejected)",
            ["outcome"],
            registry=r,
        )
        self.worker_errors = Counter(
            "sunap_worker_errors", "Unexpected worker errors", ["worker"], registry=r
        )


def metrics_of(app: Any) -> Metrics:
    metrics = app.state.metrics
    assert isinstance(metrics, Metrics)
    return metrics
