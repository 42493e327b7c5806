"""The sandbox's clock: real time plus an offset that `POST /sandbox/clock` moves forward."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

KST = timezone(timedelta(hours=9))


class SandboxClock:
    """Now, as the sandbox sees it. Only ever moves forward, except on reset."""

    def __init__(self, start: datetime | None = None) -> None:
        self._origin = timedelta(0) if start is None else start - datetime.now(UTC)
        self._offset = self._origin

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
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
