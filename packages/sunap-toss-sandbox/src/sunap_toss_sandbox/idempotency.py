"""Toss's Idempotency-Key (docs/toss.md, Idempotency at Toss): scope (secret key, method, path, key), first answer replayed.

The body is not compared: a reused key returns the first answer even for a different request,
exactly as Toss does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sunap_toss_sandbox.answers import Answer
from sunap_toss_sandbox.catalogue import TossError, Wording
from sunap_toss_sandbox.clock import SandboxClock

RETENTION = timedelta(days=15)
MAX_KEY_LENGTH = 300

KeyScope = tuple[str, str, str, str]
EMPTY_KEY = Wording("멱등키가 비어 있습니다.", "The idempotency key is empty.")


@dataclass
class _Entry:
    first_seen: datetime
    answer: Answer | None = None  # None while the first request is still being processed


class IdempotencyStore:
    def __init__(self, clock: SandboxClock) -> None:
        self._clock = clock
        self._entries: dict[KeyScope, _Entry] = {}

    @staticmethod
    def check_key(key: str) -> None:
        if not key:  # the code Toss has for a bad key; its message is about length only
            raise TossError("INVALID_IDEMPOTENCY_KEY", wording=EMPTY_KEY)
        if len(key) > MAX_KEY_LENGTH:
            raise TossError("INVALID_IDEMPOTENCY_KEY")

    def begin(self, scope: KeyScope) -> Answer | None:
        """The stored answer to replay, or None when this request is the first (now in flight)."""
        now = self._clock.now()
        entry = self._entries.get(scope)
        if entry is not None and now - entry.first_seen >= RETENTION:
            entry = None
        if entry is None:
            self._entries[scope] = _Entry(first_seen=now)
            return None
        if entry.answer is None:
            raise TossError("IDEMPOTENT_REQUEST_PROCESSING")
        return entry.answer

    def finish(self, scope: KeyScope, answer: Answer) -> None:
        entry = self._entries.get(scope)
        if entry is not None:
            entry.answer = answer

    def abandon(self, scope: KeyScope) -> None:
        """Forget an in-flight key whose answer is not to be kept: the next try runs for real."""
        entry = self._entries.get(scope)
        if entry is not None and entry.answer is None:
            del self._entries[scope]

    def reset(self) -> None:
        self._entries.clear()
