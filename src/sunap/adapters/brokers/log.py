"""The embedded default publisher: each event becomes one structured log line."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from sunap.application.ports import OutboundMessage

log = logging.getLogger("sunap.events")


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
    event: Any
    try:
        event = json.loads(message.body)
    except ValueError:  # not JSON: keep it readable rather than drop it
        event = message.body.decode("utf-8", errors="replace")
    return {"topic": message.topic, "key": message.key, "id": message.event_id, "event": event}
