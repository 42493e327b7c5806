"""The embedded default publisher: each event becomes one structured log line.

A log is read by more people and kept in more places than an event stream, so a line says which
event happened to which payment and nothing about it: its topic, id, type, subject (the payment
id) and sequence. The payment itself (customerKey, metadata, amounts…) stays in the outbox row,
and in the API.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from sunap.application.ports.messaging import OutboundMessage

log = logging.getLogger("sunap.events")

# What a line may show of the envelope; never its `data`.
SHOWN_FIELDS = ("type", "subject", "sequence")


class LogPublisher:
    """Writes each event as one JSON log line on logger `sunap.events` and "acks" at once."""

    async def start(self) -> None:
        return None

    async def publish(self, messages: Sequence[OutboundMessage]) -> None:
        for message in messages:
            log.info("%s", json.dumps(_line(message), ensure_ascii=False, separators=(",", ":")))

    async def close(self) -> None:
        return None


def _line(message: OutboundMessage) -> dict[str, Any]:
    line: dict[str, Any] = {"topic": message.topic, "id": message.event_id}
    try:
        envelope = json.loads(message.body)
    except ValueError:  # not an envelope: there is nothing more we may show
        return line
    if isinstance(envelope, dict):
        line.update((name, envelope[name]) for name in SHOWN_FIELDS if name in envelope)
    return line
