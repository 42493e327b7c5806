"""The sandbox's clock: real time plus an offset that `POST /sandbox/clock` moves forward."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

KST = timezone(timedelta(hours=9))


# How far the clock may be moved past where it started: far beyond any timer (the longest, a
# virtual account's 90 days), and far from the year 9999 past which no datetime exists (a clock
# there would fail every call, the reset included, until the process restarts).
MAX_ADVANCE = timedelta(days=100 * 365)


class SandboxClock:
    """Now, as the sandbox sees it. Only ever moves forward, except on reset."""

    def __init__(self, start: datetime | None = None) -> None:
        self._origin = timedelta(0) if start is None else start - datetime.now(UTC)
        self._offset = self._origin

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> datetime:
        """Moves the clock on; ValueError (saying why) for a move it refuses: backwards, not a
        finite number, or past MAX_ADVANCE in all since the start or the last reset."""
        if not math.isfinite(seconds):
            raise ValueError("advanceSeconds must be a finite number of seconds")
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        room = (MAX_ADVANCE - (self._offset - self._origin)).total_seconds()
        if seconds > room:
            raise ValueError(
                "the sandbox clock moves at most 100 years past its start "
                f"({room:.0f} seconds more); POST /sandbox/reset sets it back"
            )
        self._offset += timedelta(seconds=seconds)
        return self.now()

    def reset(self) -> None:
        self._offset = self._origin


def toss_time(moment: datetime) -> str:
    """`2022-01-01T00:00:00+09:00`: how Toss writes times in payments and headers."""
    return moment.astimezone(KST).strftime("%Y-%m-%dT%H:%M:%S+09:00")


def webhook_created_at(moment: datetime) -> str:
    """`2022-01-01T00:00:00.000000`: payment webhooks carry Korean time without an offset."""
    return moment.astimezone(KST).strftime("%Y-%m-%dT%H:%M:%S.%f")


def parse_due_date(text: str) -> datetime:
    """Toss's `dueDate` (`yyyy-MM-ddTHH:mm:ss`, Korean time; an offset is tolerated)."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=KST)
