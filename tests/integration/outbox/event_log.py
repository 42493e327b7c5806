"""What an independent consumer received, and the promise it checks: every stored event at least
once, and per payment the `sequence` rising by one in receive order once duplicates are dropped."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass

from tests.integration.outbox.workload import StoredEvent


@dataclass(frozen=True)
class ReceivedEvent:
    topic: str
    event_id: str
    payment_id: str
    sequence: int
    type: str


def received_from(topic: str, header_id: str | None, body: bytes) -> ReceivedEvent:
    """Decode one broker message: the CloudEvents envelope the relay published."""
    envelope = json.loads(body)
    assert envelope["specversion"] == "1.0" and envelope["source"] == "sunap"
    assert header_id in (None, envelope["id"]), "the broker's message id is the event id"
    assert topic.endswith(envelope["type"]), f"{envelope['type']} published to {topic}"
    return ReceivedEvent(
        topic, envelope["id"], envelope["subject"], envelope["sequence"], envelope["type"]
    )


@dataclass(frozen=True)
class Delivery:
    received: list[ReceivedEvent]

    @property
    def duplicates(self) -> int:
        return len(self.received) - len({r.event_id for r in self.received})

    def first_copies(self) -> list[ReceivedEvent]:
        seen: set[str] = set()
        firsts = []
        for event in self.received:
            if event.event_id not in seen:
                seen.add(event.event_id)
                firsts.append(event)
        return firsts

    def assert_complete(self, stored: list[StoredEvent]) -> None:
        """Every stored event arrived, as stored, and nothing else did."""
        firsts = self.first_copies()
        assert {e.event_id for e in firsts} == {e.event_id for e in stored}, self._missing(stored)
        expected = {e.event_id: (e.payment_id, e.sequence, e.type) for e in stored}
        for event in firsts:
            assert (event.payment_id, event.sequence, event.type) == expected[event.event_id]

    def assert_in_order_per_payment(self) -> None:
        """Read in one log (one stream or queue): each payment's events in commit order."""
        by_payment: dict[str, list[int]] = defaultdict(list)
        for event in self.first_copies():
            by_payment[event.payment_id].append(event.sequence)
        for payment_id, sequences in by_payment.items():
            assert sequences == list(range(1, len(sequences) + 1)), (
                f"payment {payment_id} received out of order: {sequences}"
            )

    def assert_in_order_per_payment_and_topic(self) -> None:
        """Read from one log per topic: within each, a payment's events rise in sequence."""
        by_log: dict[tuple[str, str], list[int]] = defaultdict(list)
        for event in self.first_copies():
            by_log[(event.payment_id, event.topic)].append(event.sequence)
        for (payment_id, topic), sequences in by_log.items():
            assert sequences == sorted(set(sequences)), (
                f"payment {payment_id} received out of order on {topic}: {sequences}"
            )

    def _missing(self, stored: list[StoredEvent]) -> str:
        got = Counter(e.event_id for e in self.received)
        missing = [e for e in stored if e.event_id not in got]
        return f"{len(missing)} of {len(stored)} events never arrived, e.g. {missing[:3]}"
