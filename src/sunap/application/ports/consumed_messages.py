"""Messages taken in from a broker, remembered so a redelivery is acted on once."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class ConsumedMessages(Protocol):
    async def first_time(
        self, subscriber: str, message_key: str, outcome: str, detail: str | None, now: datetime
    ) -> bool:
        """Record a consumed message; False if (subscriber, message_key) was recorded before."""
        ...
