"""A clock the test moves by hand: time never passes on its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self._now = _aware(start or datetime(2026, 1, 15, 9, 0, tzinfo=UTC))
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self._now

    def set(self, at: datetime) -> None:
        self._now = _aware(at)

    def advance(self, by: timedelta | None = None, *, seconds: float = 0) -> datetime:
        self._now += (by or timedelta()) + timedelta(seconds=seconds)
        return self._now

    async def sleep(self, seconds: float) -> None:
        """Deps.sleep on this clock: the wait passes at once, the time it took is recorded."""
        self.slept.append(seconds)
        self.advance(seconds=seconds)


def _aware(at: datetime) -> datetime:
    # A naive datetime would compare unequal to every stored (aware) one: refuse it early.
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("FakeClock keeps aware datetimes only.")
    return at.astimezone(UTC)


class FakeMonotonic:
    """A `time.monotonic` the test moves by setting `now`."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
