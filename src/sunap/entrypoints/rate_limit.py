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


@dataclass(frozen=True)
class BucketRule:
    """How every key's bucket fills and empties, wherever the buckets are kept."""

    rate: float  # tokens added back a second
    burst: float  # the most a bucket holds

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError("a rate limit needs a positive rate and room for one request")

    @property
    def refill_seconds(self) -> float:
        """How long an idle bucket takes to be full again: then it is the same as none."""
        return self.burst / self.rate

    def refilled(self, tokens: float, filled_at: float, now: float) -> float:
        return min(self.burst, tokens + (now - filled_at) * self.rate)

    def spend(self, tokens: float) -> tuple[float, float]:
        """(tokens left, seconds to wait): a refused request spends nothing."""
        if tokens >= 1:
            return tokens - 1, 0.0
        return tokens, (1 - tokens) / self.rate


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
        self.rule = BucketRule(rate, burst)
        self._monotonic = monotonic
        self._buckets: dict[str, _Bucket] = {}
        self._swept_at = monotonic()

    def take(self, key_id: str) -> float:
        """Spend one request of `key_id`: 0.0 when it may go ahead, otherwise the seconds to wait
        until it may (nothing is spent then)."""
        now = self._monotonic()
        self._sweep(now)
        bucket = self._buckets.get(key_id)
        if bucket is None:
            bucket = self._buckets[key_id] = _Bucket(self.rule.burst, now)
        else:
            bucket.tokens = self.rule.refilled(bucket.tokens, bucket.filled_at, now)
            bucket.filled_at = now
        bucket.tokens, wait = self.rule.spend(bucket.tokens)
        return wait

    def __len__(self) -> int:
        """How many buckets are kept."""
        return len(self._buckets)

    def _sweep(self, now: float) -> None:
        refill = self.rule.refill_seconds
        if now - self._swept_at < refill:
            return
        self._swept_at = now
        idle = [k for k, b in self._buckets.items() if now - b.filled_at >= refill]
        for key_id in idle:
            del self._buckets[key_id]
