"""CloudEvents 1.0 envelopes for payment events, and the topics they go to (docs/api.md, Events)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sunap.domain.events import PaymentEvent
from sunap.domain.payment import Payment

from .ports import Clock, IdGenerator
from .presenters import payment_resource, rfc3339


def topic_for(event_type: str, prefix: str = "commerce.") -> str:
    """`payment.completed` → `commerce.payment.completed`."""
    return f"{prefix}{event_type}"


@dataclass(frozen=True)
class EnvelopeFactory:
    """Builds the envelope the outbox stores: one id per event, the payment as it is at commit."""

    ids: IdGenerator
    clock: Clock
    # The W3C traceparent of the work writing the event, when traces are on: carried as the
    # CloudEvents `traceparent` extension (the distributed-tracing extension).
    trace_context: Callable[[], str | None] | None = None

    def __call__(self, payment: Payment, event: PaymentEvent) -> dict[str, Any]:
        envelope: dict[str, Any] = {
            "specversion": "1.0",
            "id": self.ids.new_id("evt"),
            "source": "sunap",
            "type": event.type,
            "subject": payment.id,
            "time": rfc3339(self.clock.now()),
            "datacontenttype": "application/json",
            "sequence": event.sequence,
            "tenant": payment.tenant_id,
            "data": payment_resource(payment),
        }
        traceparent = self.trace_context() if self.trace_context is not None else None
        if traceparent:
            envelope["traceparent"] = traceparent
        return envelope
