"""The real clock and id generator (tests pass fakes of their own)."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class RandomIds:
    """`pay_0192f3a4b5c6d7e8f9a0b1c2d3`: a millisecond timestamp then 64 random bits, so ids
    sort roughly by creation and cannot be guessed."""

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{int(time.time() * 1000):012x}{secrets.token_hex(8)}"
