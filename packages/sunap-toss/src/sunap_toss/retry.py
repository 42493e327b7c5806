"""How often and how patiently one Toss call is tried again.

Capped exponential backoff with jitter and a bounded number of attempts (AWS REL05-BP03).
Whether an answer may be retried at all is decided by the caller (see `api.py`); this only says
when, and whether time is left.
"""

from __future__ import annotations

import asyncio
import enum
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


class Jitter(enum.Enum):
    FULL = "full"  # uniform in [0, cap]: spreads a herd of clients the most
    NONE = "none"  # exactly the capped exponential delay


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    base_delay: float = 0.2
    max_delay: float = 2.0
    jitter: Jitter = Jitter.FULL
    # A retry is not started once this many seconds have passed since the first attempt, and a
    # retry's timeouts are cut to what is left, so one call never runs far past it.
    max_elapsed: float = 45.0
    # Toss refuses a second cancel of one payment within a second (FORBIDDEN_CONSECUTIVE_REQUEST):
    # a retry of that answer waits at least this long, whatever the backoff says.
    consecutive_request_pause: float = 1.1
    # Toss answers a key whose first request it is still processing with 409
    # IDEMPOTENT_REQUEST_PROCESSING: asking again at once (the jittered backoff can be a few
    # milliseconds) only gets the same; after a pause, the first request's answer.
    in_process_pause: float = 1.0
    # Whether a write whose outcome is unknown (a 5xx, a dropped connection, a timeout: Toss may
    # have applied it) is sent again within the call, under its same Idempotency-Key. A caller
    # that reports such an outcome as unknown and settles it later turns this off, so the
    # outcome reaches it at once; reads, and answers that say nothing was done (429, "still
    # processing", "too fast"), are tried again either way.
    retry_unknown_writes: bool = True
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, compare=False)
    blocking_sleep: Callable[[float], None] = field(
        default=time.sleep, compare=False
    )  # sync client
    random: Callable[[], float] = field(default=random.random, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.max_elapsed <= 0:
            raise ValueError("delays must not be negative and max_elapsed must be positive")

    def delay_before(self, attempt: int) -> float:
        """The pause before `attempt` (2 for the first retry): base·2^(n-2), capped, jittered."""
        cap = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 2))
        if self.jitter is Jitter.FULL:
            return cap * self.random()
        return cap

    @classmethod
    def never(cls) -> RetryPolicy:
        """One attempt only: for callers that retry at their own layer."""
        return cls(max_attempts=1)
