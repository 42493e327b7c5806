"""The token bucket behind SUNAP_RATE_LIMIT, on a clock the test moves."""

from __future__ import annotations

import pytest

from sunap.entrypoints.rate_limit import RateLimiter
from tests.fakes.clock import FakeMonotonic


@pytest.fixture
def clock() -> FakeMonotonic:
    return FakeMonotonic()


def test_a_key_may_spend_its_burst_at_once_and_then_waits(clock: FakeMonotonic) -> None:
    limiter = RateLimiter(rate=10, burst=20, monotonic=clock)
    assert all(limiter.take("key_a") == 0.0 for _ in range(20))
    wait = limiter.take("key_a")
    assert wait == pytest.approx(0.1)


def test_tokens_come_back_at_the_rate(clock: FakeMonotonic) -> None:
    limiter = RateLimiter(rate=2, burst=2, monotonic=clock)
    limiter.take("k"), limiter.take("k")
    assert limiter.take("k") == pytest.approx(0.5)
    clock.now += 0.5
    assert limiter.take("k") == 0.0
    assert limiter.take("k") > 0


def test_a_refused_request_spends_nothing(clock: FakeMonotonic) -> None:
    limiter = RateLimiter(rate=1, burst=1, monotonic=clock)
    limiter.take("k")
    for _ in range(50):
        assert limiter.take("k") == pytest.approx(1.0)
    clock.now += 1.0
    assert limiter.take("k") == 0.0


def test_each_key_has_its_own_bucket(clock: FakeMonotonic) -> None:
    limiter = RateLimiter(rate=1, burst=1, monotonic=clock)
    assert limiter.take("key_a") == 0.0
    assert limiter.take("key_a") > 0
    assert limiter.take("key_b") == 0.0


def test_a_bucket_never_holds_more_than_the_burst(clock: FakeMonotonic) -> None:
    limiter = RateLimiter(rate=1, burst=3, monotonic=clock)
    limiter.take("k")
    clock.now += 3600
    assert [limiter.take("k") for _ in range(4)][:3] == [0.0, 0.0, 0.0]
    assert limiter.take("k") > 0


def test_idle_buckets_are_dropped_so_memory_follows_the_keys_in_use(clock: FakeMonotonic) -> None:
    limiter = RateLimiter(rate=100, burst=200, monotonic=clock)  # full again after 2 s
    for n in range(10_000):
        limiter.take(f"key_{n}")
    assert len(limiter) == 10_000
    clock.now += 2.0
    limiter.take("key_still_used")
    assert len(limiter) == 1


def test_a_dropped_bucket_comes_back_full(clock: FakeMonotonic) -> None:
    limiter = RateLimiter(rate=1, burst=2, monotonic=clock)
    limiter.take("k"), limiter.take("k")
    clock.now += 2.0
    assert limiter.take("k") == 0.0 and limiter.take("k") == 0.0


@pytest.mark.parametrize(("rate", "burst"), [(0, 10), (-1, 10), (1, 0.5)])
def test_a_limit_that_allows_nothing_is_refused(rate: float, burst: float) -> None:
    with pytest.raises(ValueError):
        RateLimiter(rate, burst)
