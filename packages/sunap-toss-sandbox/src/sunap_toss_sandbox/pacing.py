"""Limits Toss puts on how often it may be called: the one-second cancel rule and the rate limit.

Both count on the sandbox clock, so a test moves past them with POST /sandbox/clock instead of
sleeping.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

from sunap_toss_sandbox import choices
from sunap_toss_sandbox.catalogue import TossError
from sunap_toss_sandbox.clock import SandboxClock


class ConsecutiveCancels:
    """Refuses a cancel of a payment within `window_seconds` of the last one processed: carried
    out, not merely received. A cancel refused before it changed anything (a bad body, more than
    the balance, an injected fault standing for Toss not processing it) starts no window."""

    def __init__(self, clock: SandboxClock, window_seconds: float) -> None:
        self._clock = clock
        self.window = timedelta(seconds=max(0.0, window_seconds))
        self._last: dict[str, datetime] = {}

    def check(self, payment_key: str) -> None:
        """Raises FORBIDDEN_CONSECUTIVE_REQUEST within the window of the payment's last cancel."""
        last = self._last.get(payment_key)
        if self.window and last is not None and self._clock.now() - last < self.window:
            raise TossError("FORBIDDEN_CONSECUTIVE_REQUEST")

    def processed(self, payment_key: str) -> None:
        """A cancel of the payment was carried out: its window starts now."""
        if self.window:
            self._last[payment_key] = self._clock.now()

    def reset(self) -> None:
        self._last.clear()


class RateLimit:
    """At most `per_minute` calls per (secret key, API) in any window of 60 s; None: no limit."""

    def __init__(self, clock: SandboxClock, per_minute: int | None) -> None:
        self._clock = clock
        self.per_minute = per_minute
        self._window = timedelta(seconds=choices.RATE_LIMIT_WINDOW_SECONDS)
        self._calls: dict[tuple[str, str, str], deque[datetime]] = {}

    def admit(self, secret_key: str, method: str, api: str) -> None:
        if self.per_minute is None:
            return
        now = self._clock.now()
        calls = self._calls.setdefault((secret_key, method, api), deque())
        while calls and now - calls[0] >= self._window:
            calls.popleft()
        if len(calls) >= self.per_minute:
            raise TossError(choices.RATE_LIMITED_CODE)
        calls.append(now)

    def reset(self) -> None:
        self._calls.clear()


def parse_rate_limit(text: str) -> int:
    """`100/min` (or a bare `100`) -> 100 calls per minute."""
    count, _, unit = text.strip().partition("/")
    if unit not in ("", "min", "minute", "m") or not count.isdigit() or int(count) < 1:
        raise ValueError(f"expected N/min with N >= 1, got {text!r}")
    return int(count)
