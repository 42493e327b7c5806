"""What every aggregate shares: an id, a version the repository checks on save, and the events it
recorded since it was read, which the unit of work writes to the outbox in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar


@dataclass(frozen=True)
class DomainEvent:
    """Something that happened to one aggregate, past tense; `type` is its public event type.
    `state`: the aggregate as this event left it, when more may happen to it before the commit
    (None: as it is at the commit)."""

    type: ClassVar[str]
    state: Aggregate | None = field(default=None, compare=False, repr=False, kw_only=True)

    @property
    def subject(self) -> str:
        """The id of the aggregate it happened to."""
        raise NotImplementedError

    @property
    def position(self) -> int:
        """Its place among the aggregate's events: rises by one with every event."""
        raise NotImplementedError


class Aggregate:
    """Base of Payment, BillingKey and Subscription. Subclasses are dataclasses declaring these
    attributes as fields; `aggregate_type` names them in the outbox (`aggregatetype`)."""

    aggregate_type: ClassVar[str]
    id: str
    tenant_id: str  # the merchant it belongs to
    version: int  # bumped on every save; the repository refuses a stale write
    event_sequence: int  # the sequence of the last event recorded
    events: list[DomainEvent]  # recorded since the last commit
    updated_at: datetime  # when it last changed: the time its outbox rows carry

    def _next_sequence(self) -> int:
        self.event_sequence += 1
        return self.event_sequence
