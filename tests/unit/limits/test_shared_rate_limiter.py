"""The buckets the processes of `sunap serve --workers N` share: two limiters opening one file
stand for two processes (each has its own descriptor, so `flock` keeps them apart as it keeps
processes apart), on a clock the test moves."""

from __future__ import annotations

import multiprocessing
import stat
from multiprocessing.synchronize import Event
from pathlib import Path

import pytest

from sunap.entrypoints.shared_rate_limit import (
    PROBES,
    SLOTS,
    SharedRateLimiter,
    _hash_of,
    create_bucket_file,
)
from tests.fakes.clock import FakeMonotonic


@pytest.fixture
def clock() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def buckets(tmp_path: Path) -> Path:
    path = tmp_path / "buckets"
    create_bucket_file(path)
    return path


def test_two_processes_spend_one_burst_between_them(buckets: Path, clock: FakeMonotonic) -> None:
    first = SharedRateLimiter(buckets, rate=10, burst=20, monotonic=clock)
    second = SharedRateLimiter(buckets, rate=10, burst=20, monotonic=clock)
    answers = [(first if i % 2 else second).take("key_a") for i in range(20)]
    assert answers == [0.0] * 20
    assert first.take("key_a") == pytest.approx(0.1)
    assert second.take("key_a") == pytest.approx(0.1)


def test_tokens_come_back_at_the_rate_for_every_process(
    buckets: Path, clock: FakeMonotonic
) -> None:
    first = SharedRateLimiter(buckets, rate=2, burst=2, monotonic=clock)
    second = SharedRateLimiter(buckets, rate=2, burst=2, monotonic=clock)
    first.take("k"), second.take("k")
    assert first.take("k") == pytest.approx(0.5)
    clock.now += 0.5
    assert second.take("k") == 0.0
    assert first.take("k") > 0


def test_a_refused_request_spends_nothing(buckets: Path, clock: FakeMonotonic) -> None:
    limiter = SharedRateLimiter(buckets, rate=1, burst=1, monotonic=clock)
    limiter.take("k")
    for _ in range(50):
        assert limiter.take("k") == pytest.approx(1.0)
    clock.now += 1.0
    assert limiter.take("k") == 0.0


def test_each_key_has_its_own_bucket(buckets: Path, clock: FakeMonotonic) -> None:
    limiter = SharedRateLimiter(buckets, rate=1, burst=1, monotonic=clock)
    assert limiter.take("key_a") == 0.0
    assert limiter.take("key_b") == 0.0
    assert limiter.take("key_a") > 0


def keys_sharing_a_home(count: int) -> list[str]:
    """`count` key ids whose hashes start their search at the same slot."""
    by_home: dict[int, list[str]] = {}
    for n in range(200_000):
        key_id = f"key_{n}"
        same = by_home.setdefault(_hash_of(key_id) % SLOTS, [])
        same.append(key_id)
        if len(same) == count:
            return same
    raise AssertionError("no home slot was shared often enough")


def test_keys_sharing_a_slot_keep_separate_buckets(buckets: Path, clock: FakeMonotonic) -> None:
    limiter = SharedRateLimiter(buckets, rate=1, burst=2, monotonic=clock)
    neighbours = keys_sharing_a_home(3)
    for key_id in neighbours:
        assert limiter.take(key_id) == 0.0
    for key_id in neighbours:
        assert limiter.take(key_id) == 0.0
        assert limiter.take(key_id) > 0  # each spent its own two, no more


def test_an_idle_bucket_gives_its_slot_to_another_key(buckets: Path, clock: FakeMonotonic) -> None:
    limiter = SharedRateLimiter(buckets, rate=1, burst=1, monotonic=clock)
    crowd = keys_sharing_a_home(PROBES + 1)
    for key_id in crowd[:PROBES]:
        assert limiter.take(key_id) == 0.0
    clock.now += 1.0  # every bucket is full again: as good as none
    assert limiter.take(crowd[PROBES]) == 0.0
    assert limiter.take(crowd[PROBES]) > 0  # it kept the slot it took
    for key_id in crowd[1:PROBES]:  # the others were left where they were
        assert limiter.take(key_id) == 0.0
        assert limiter.take(key_id) > 0


def test_the_file_is_its_owners_alone_and_no_other_file_is_taken(tmp_path: Path) -> None:
    path = tmp_path / "buckets"
    create_bucket_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(FileExistsError):
        create_bucket_file(path)  # never one someone else put there
    stranger = tmp_path / "stranger"
    stranger.write_bytes(b"not buckets")
    with pytest.raises(ValueError, match="not a table of rate-limit buckets"):
        SharedRateLimiter(stranger, rate=1, burst=1)


def spend_from_another_process(
    path: str, start: Event, count: int, answers: multiprocessing.Queue[int]
) -> None:
    limiter = SharedRateLimiter(Path(path), rate=0.001, burst=40_000)
    start.wait(timeout=60)
    answers.put(sum(limiter.take("key_a") == 0.0 for _ in range(count)))


def test_processes_racing_for_one_burst_never_get_more_than_it(buckets: Path) -> None:
    """Four processes take 20,000 each at once from a burst of 40,000 (and one token every
    1,000 s): exactly 40,000 go ahead, which an unlocked read-modify-write exceeds."""
    context = multiprocessing.get_context("spawn")
    answers: multiprocessing.Queue[int] = context.Queue()
    start = context.Event()
    workers = [
        context.Process(
            target=spend_from_another_process, args=(str(buckets), start, 20_000, answers)
        )
        for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    start.set()
    taken = [answers.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    assert sum(taken) == 40_000
