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
    """Builds the envelope the outbox stores: one id per event, and the aggregate as the event
    left it. The relay names the topic from the event type (`commerce.` + type)."""

    ids: IdGenerator
    clock: Clock
    # The W3C traceparent of the work writing the event, when traces are on: carried as the
    # CloudEvents `traceparent` extension (the distributed-tracing extension).
    trace_context: Callable[[], str | None] | None = None

    def __call__(self, aggregate: Aggregate, event: DomainEvent, tenant: str) -> dict[str, Any]:
        """`tenant`: the aggregate's tenant's name (the one its API keys were made for)."""
        envelope: dict[str, Any] = {
            "specversion": "1.0",
            "id": self.ids.new_id("evt"),
            "source": "sunap",
            "type": event.type,
            "subject": aggregate.id,
            "time": rfc3339(self.clock.now()),
            "datacontenttype": "application/json",
            "sequence": event.position,
            "tenant": tenant,
            "data": aggregate_resource(_as_left_by(event, aggregate)),
        }
        traceparent = self.trace_context() if self.trace_context is not None else None
        if traceparent:
            envelope["traceparent"] = traceparent
        return envelope


def _as_left_by(event: DomainEvent, aggregate: Aggregate) -> Aggregate:
    """The aggregate as it is at commit for its last event (with whatever else the transaction
    changed, a review flag say); an earlier event of the same commit (two cancels adopted at
    once) shows the state it left, so its data agrees with its type."""
    last = aggregate.events[-1] if aggregate.events else None
    return aggregate if event is last or event.state is None else event.state
