"""Prometheus metrics, one registry per process, created by bootstrap (never at import time).

The processes of one `sunap serve --workers N` share theirs: their parent names a directory in
PROMETHEUS_MULTIPROC_DIR before it starts them, prometheus_client then keeps each process's
values in files there, and a scrape of any process sums them (`exposition`). Gauges say how to
merge: what was read from the database last, or the largest value of a live process.

Every family is recorded where its fact happens: payments when their change is committed, Toss
calls when the call ends, webhooks when a delivery is refused at the door or settled by the
processor. Labels take a few known values only (route templates, event names, outcomes): never
a tenant, a payment id or anything a caller chose. The families are listed in docs/observability.md.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

from sunap.application.billing_scheduler import CHARGE_OUTCOMES
from sunap.application.observed_gateway import OBSERVED_OPERATIONS
from sunap.application.order_placed import ORDER_OUTCOMES
from sunap.application.ports.gateway import PgOperation, PgOutcome
from sunap.application.reconcile import ReconcileOutcome
from sunap.domain import events as ev
from sunap.domain.payment import Payment

# The public names of what a committed payment event means for the money.
PAYMENT_EVENTS: dict[str, str] = {
    ev.PaymentCreated.type: "created",
    ev.PaymentCompleted.type: "approved",
    ev.PaymentFailed.type: "refused",
    ev.PaymentCanceled.type: "canceled",
    ev.PaymentPartiallyCanceled.type: "partially_canceled",
    ev.PaymentExpired.type: "expired",
}
WEBHOOK_RESULTS = ("applied", "duplicate", "unmatched", "ignored", "rejected", "early", "failed")
# Toss's webhook event types; anything else a sender writes is counted as "other".
WEBHOOK_TYPES = frozenset(
    {
        "PAYMENT_STATUS_CHANGED",
        "DEPOSIT_CALLBACK",
        "CANCEL_STATUS_CHANGED",
        "BILLING_DELETED",
        "PAYOUT_STATUS_CHANGED",
        "SELLER_CHANGED",
    }
)
# Toss answers in milliseconds to tens of seconds (a read timeout is 30-60 s).
TOSS_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

# No `…_created` series beside each counter: a gauge holding a Unix time, named like a count.
disable_created_metrics()  # type: ignore[no-untyped-call]


SHARED_DIRECTORY_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's own name for it


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    _circuit_closed: Callable[[], bool] = lambda: True

    def __post_init__(self) -> None:
        r = self.registry
        self.http_requests = Counter(
            "sunap_http_requests",
            "HTTP requests answered, by route template, method and status",
            ["route", "method", "status"],
            registry=r,
        )
        self.http_duration = Histogram(
            "sunap_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template and method",
            ["route", "method"],
            buckets=HTTP_BUCKETS,
            registry=r,
        )
        self.payments = Counter(
            "sunap_payments",
            "Payment events committed (created, approved, refused, canceled, ...)",
            ["event"],
            registry=r,
        )
        self.payment_amount = Counter(
            "sunap_payment_amount",
            "Money of the committed payment events, in KRW (a cancel counts what it gave back)",
            ["event"],
            registry=r,
        )
        self.toss_requests = Counter(
            "sunap_toss_requests",
            "Calls to Toss, by operation and outcome (ok, declined, unknown, ...)",
            ["operation", "outcome"],
            registry=r,
        )
        self.toss_duration = Histogram(
            "sunap_toss_request_duration_seconds",
            "Time a call to Toss took, retries included",
            ["operation"],
            buckets=TOSS_BUCKETS,
            registry=r,
        )
        self.toss_circuit_open = Gauge(
            "sunap_toss_circuit_open",
            "1 while the circuit breaker in front of Toss refuses new payments",
            registry=r,
            multiprocess_mode="livemax",  # each process has its own breaker: 1 if any is open
        )
        self.webhook_deliveries = Counter(
            "sunap_webhook_deliveries",
            "Toss webhook deliveries, by event type and result",
            ["type", "result"],
            registry=r,
        )
        # Read from the database when /metrics is scraped: the latest reading is the answer.
        self.outbox_unpublished = Gauge(
            "sunap_outbox_unpublished",
            "Outbox events not yet published",
            registry=r,
            multiprocess_mode="mostrecent",
        )
        self.outbox_oldest_age = Gauge(
            "sunap_outbox_oldest_unpublished_age_seconds",
            "Age of the oldest unpublished outbox event",
            registry=r,
            multiprocess_mode="mostrecent",
        )
        self.payments_needing_review = Gauge(
            "sunap_payments_needing_review",
            "Payments nothing automatic could settle, waiting for a person",
            registry=r,
            multiprocess_mode="mostrecent",
        )
        # When those three were last read: a database that stops answering leaves them as they
        # were, and this says how old they are (`time() - …`).
        self.backlog_measured_at = Gauge(
            "sunap_backlog_last_measured_timestamp_seconds",
            "Unix time the outbox and review backlog gauges were last read from the database",
            registry=r,
            multiprocess_mode="max",
        )
        # Read by the reconciler's worker every few seconds, where the workers run.
        self.payments_outcome_unknown = Gauge(
            "sunap_payments_outcome_unknown",
            "Payments IN_PROGRESS whose PG outcome the reconciler has yet to learn",
            registry=r,
            multiprocess_mode="mostrecent",
        )
        self.payments_cancel_pending = Gauge(
            "sunap_payments_cancel_pending",
            "Payments with a cancel whose PG outcome the reconciler has yet to learn",
            registry=r,
            multiprocess_mode="mostrecent",
        )
        self.payments_in_doubt_oldest_age = Gauge(
            "sunap_payments_in_doubt_oldest_age_seconds",
            "Time since the oldest call to the PG of those payments was sent",
            registry=r,
            multiprocess_mode="mostrecent",
        )
        self.in_doubt_measured_at = Gauge(
            "sunap_payments_in_doubt_last_measured_timestamp_seconds",
            "Unix time the gauges of the payments in doubt were last read from the database",
            registry=r,
            multiprocess_mode="max",
        )
        self.subscriptions = Gauge(
            "sunap_subscriptions",
            "Subscriptions by status",
            ["status"],
            registry=r,
            multiprocess_mode="mostrecent",
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
        self.orders_consumed = Counter(
            "sunap_orders_consumed",
            "order.placed messages handled, by outcome (created, duplicate, rejected)",
            ["outcome"],
            registry=r,
        )
        self.worker_errors = Counter(
            "sunap_worker_errors", "Unexpected worker errors", ["worker"], registry=r
        )
        self.worker_database_unavailable = Counter(
            "sunap_worker_database_unavailable",
            "Worker steps that found the database unreachable, retried after a pause",
            ["worker"],
            registry=r,
        )
        # Every series of a known label value exists from the start, at 0: an alert on
        # increase() sees the first event after a restart (it needs a sample before it).
        for name in PAYMENT_EVENTS.values():
            self.payments.labels(event=name)
            self.payment_amount.labels(event=name)
        for outcome in ReconcileOutcome:
            self.reconcile_runs.labels(outcome=outcome.value)
        for name in CHARGE_OUTCOMES:
            self.subscription_charges.labels(outcome=name)
        for name in ORDER_OUTCOMES:
            self.orders_consumed.labels(outcome=name)
        for operation in OBSERVED_OPERATIONS:  # 6 x 6: SunapTossMisconfigured needs its 0
            self.toss_duration.labels(operation=operation)
            for pg_outcome in PgOutcome:
                self.toss_requests.labels(operation=operation, outcome=pg_outcome)
        for event_type in (*sorted(WEBHOOK_TYPES), "other"):  # 7 x 6
            for result in WEBHOOK_RESULTS:
                self.webhook_deliveries.labels(type=event_type, result=result)

    def payments_committed(self, payments: Sequence[Payment]) -> None:
        """Called once a unit of work's commit is durable, with the events it wrote."""
        for payment in payments:
            for event in payment.events:
                name = PAYMENT_EVENTS.get(event.type)
                if name is not None and isinstance(event, ev.PaymentEvent):
                    self.payments.labels(event=name).inc()
                    self.payment_amount.labels(event=name).inc(event.amount)

    def toss_call_ended(self, operation: PgOperation, outcome: PgOutcome, seconds: float) -> None:
        self.toss_requests.labels(operation=operation, outcome=outcome).inc()
        self.toss_duration.labels(operation=operation).observe(seconds)
        self._read_circuit()  # kept fresh where a scrape of another process can read it

    def watch_circuit(self, accepts_new_operations: Callable[[], bool]) -> None:
        """The breaker's state, read when a Toss call ends and when /metrics is scraped."""
        self._circuit_closed = accepts_new_operations
        self._read_circuit()

    def exposition(self) -> bytes:
        """What /metrics answers: this process's registry, or every process's of this
        `serve --workers N` (a process gone since counts no more in the live gauges)."""
        self._read_circuit()
        directory = os.environ.get(SHARED_DIRECTORY_ENV)
        if not directory:
            return generate_latest(self.registry)
        _forget_dead_processes(directory)
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged, path=directory)  # type: ignore[no-untyped-call]
        return generate_latest(merged)

    def _read_circuit(self) -> None:
        self.toss_circuit_open.set(0.0 if self._circuit_closed() else 1.0)

    def webhook_delivery(self, event_type: str, result: str) -> None:
        known = event_type if event_type in WEBHOOK_TYPES else "other"
        self.webhook_deliveries.labels(type=known, result=result).inc()

    def payments_in_doubt(self, unknown: int, cancels: int, oldest_age_seconds: float) -> None:
        self.payments_outcome_unknown.set(unknown)
        self.payments_cancel_pending.set(cancels)
        self.payments_in_doubt_oldest_age.set(oldest_age_seconds)

    def outbox_backlog(self, unpublished: int, oldest_age_seconds: float) -> None:
        self.outbox_unpublished.set(unpublished)
        self.outbox_oldest_age.set(oldest_age_seconds)


def _forget_dead_processes(directory: str) -> None:
    """Drop the live gauges of processes that exited (a worker uvicorn started again)."""
    for name in os.listdir(directory):
        if not name.startswith("gauge_live"):
            continue
        pid = int(name.rsplit("_", 1)[1].split(".")[0])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]
        except PermissionError:  # alive, another user's: not ours to judge
            continue


def metrics_of(app: Any) -> Metrics:
    metrics = app.state.metrics
    assert isinstance(metrics, Metrics)
    return metrics
