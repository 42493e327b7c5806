"""Rate limits per API key: one token bucket per key, in this process's memory.

A key may spend `burst` requests at once and then `rate` a second. Buckets are kept under the
key's id, never the key itself. A bucket left alone long enough to be full again is the same as
no bucket, so idle ones are dropped from time to time: memory follows the keys in use, not every
key ever seen. The processes of one `sunap serve --workers N` share theirs instead
(`shared_rate_limit.py`); separate `sunap serve` processes each keep their own, so N of them
together allow N times the rate.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


class Limiter(Protocol):
    def take(self, key_id: str) -> float:
        """Spend one request of `key_id`: 0.0 when it may go ahead, otherwise the seconds to
        wait until it may (nothing is spent then)."""
        ...


@dataclass
class _Bucket:
    tokens: float
    filled_at: float  # when `tokens` was last brought up to date


class RateLimiter:
    def __init__(
        self,
        rate: float,
        burst: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a rate limit needs a positive rate and room for one request")
        self.rate = rate
        self.burst = burst
        self._monotonic = monotonic
        self._buckets: dict[str, _Bucket] = {}
        self._refill_seconds = burst / rate  # an idle bucket is full again after this long
        self._swept_at = monotonic()

    def take(self, key_id: str) -> float:
        """Spend one request of `key_id`: 0.0 when it may go ahead, otherwise the seconds to wait
        until it may (nothing is spent then)."""
        now = self._monotonic()
        self._sweep(now)
        bucket = self._buckets.get(key_id)
        if bucket is None:
            bucket = self._buckets[key_id] = _Bucket(self.burst, now)
        else:
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.filled_at) * self.rate)
            bucket.filled_at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate

    def __len__(self) -> int:
        """How many buckets are kept."""
        return len(self._buckets)

    def _sweep(self, now: float) -> None:
        if now - self._swept_at < self._refill_seconds:
            return
        self._swept_at = now
        idle = [k for k, b in self._buckets.items() if now - b.filled_at >= self._refill_seconds]
        for key_id in idle:
            del self._buckets[key_id]
