"""CloudEvents 1.0 envelopes for the events of any aggregate (docs/api.md, "Events")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sunap.domain.aggregate import Aggregate, DomainEvent

from .ports.system import Clock, IdGenerator
from .presenters import aggregate_resource, rfc3339


@dataclass(frozen=True)
class EnvelopeFactory:
    """Builds the envelope the outbox stores: one id per event, the aggregate as it is at
    commit. The relay names the topic from the event type (`commerce.` + type)."""

    ids: IdGenerator
    clock: Clock
    # The W3C traceparent of the work writing the event, when traces are on: carried as the
    # CloudEvents `traceparent` extension (the distributed-tracing extension).
    trace_context: Callable[[], str | None] | None = None

    def __call__(self, aggregate: Aggregate, event: DomainEvent) -> dict[str, Any]:
        envelope: dict[str, Any] = {
            "specversion": "1.0",
            "id": self.ids.new_id("evt"),
            "source": "sunap",
            "type": event.type,
            "subject": aggregate.id,
            "time": rfc3339(self.clock.now()),
            "datacontenttype": "application/json",
            "sequence": event.position,
            "tenant": aggregate.tenant_id,
            "data": aggregate_resource(aggregate),
        }
        traceparent = self.trace_context() if self.trace_context is not None else None
        if traceparent:
            envelope["traceparent"] = traceparent
        return envelope
