"""Rate limits per API key shared by the processes of one `sunap serve --workers N`.

Each process of `--workers N` answers whichever connections it accepts, and a client's kept
connection stays with one process, so buckets kept in each process's memory let a key spend N
times its rate. Here the buckets live in one small file every process maps into memory: a
fixed table of slots (the key id's 64-bit hash, its tokens, when they were last brought up to
date), read and written under an exclusive `flock` held for a few microseconds. The clock is
CLOCK_MONOTONIC, which every process on the host shares.

A key finds its slot among `PROBES` neighbours of its hash. A slot idle long enough to be full
again is the same as no bucket and may be taken by another key; only when every neighbour is
busy is the longest idle one taken over, which hands that key a full bucket: with 4,096 slots
and buckets of a few seconds this needs thousands of keys busy at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import mmap
import os
import struct
import time
from collections.abc import Callable
from pathlib import Path

from .rate_limit import BucketRule

# Set by `sunap serve --workers N` for its processes, naming the file of buckets they share.
SHARED_BUCKETS_ENV = "SUNAP_SHARED_RATE_BUCKETS"
SLOT = struct.Struct("<Qdd")  # key hash (0: never used), tokens, filled_at
SLOTS = 4096
PROBES = 8
FILE_SIZE = SLOT.size * SLOTS


def create_bucket_file(path: Path) -> None:
    """An empty table of buckets at `path`, readable and writable by this user only."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.ftruncate(descriptor, FILE_SIZE)  # reads back as zeros: every slot unused
    finally:
        os.close(descriptor)


class SharedRateLimiter:
    """The same buckets as `RateLimiter`, kept in the file `create_bucket_file` made."""

    def __init__(
        self,
        path: Path,
        rate: float,
        burst: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rule = BucketRule(rate, burst)
        self._monotonic = monotonic
        self._descriptor = os.open(path, os.O_RDWR)
        if os.fstat(self._descriptor).st_size != FILE_SIZE:
            os.close(self._descriptor)
            raise ValueError(f"{path} is not a table of rate-limit buckets")
        self._table = mmap.mmap(self._descriptor, FILE_SIZE)

    def take(self, key_id: str) -> float:
        """Spend one request of `key_id`: 0.0 when it may go ahead, otherwise the seconds to wait
        until it may (nothing is spent then)."""
        wanted = _hash_of(key_id)
        home = wanted % SLOTS
        fcntl.flock(self._descriptor, fcntl.LOCK_EX)
        try:
            now = self._monotonic()
            slot, tokens = self._find(wanted, home, now)
            tokens, wait = self.rule.spend(tokens)
            SLOT.pack_into(self._table, slot * SLOT.size, wanted, tokens, now)
            return wait
        finally:
            fcntl.flock(self._descriptor, fcntl.LOCK_UN)

    def close(self) -> None:
        self._table.close()
        os.close(self._descriptor)

    def _find(self, wanted: int, home: int, now: float) -> tuple[int, float]:
        """The slot of `wanted` and its tokens brought up to date; a free slot and a full bucket
        when it has none."""
        free: int | None = None
        longest_idle, idle_since = home, float("inf")
        for step in range(PROBES):
            slot = (home + step) % SLOTS
            found, tokens, filled_at = SLOT.unpack_from(self._table, slot * SLOT.size)
            if found == wanted:
                return slot, self.rule.refilled(tokens, filled_at, now)
            if free is None and (found == 0 or now - filled_at >= self.rule.refill_seconds):
                free = slot
            if filled_at < idle_since:
                longest_idle, idle_since = slot, filled_at
        return (longest_idle if free is None else free), self.rule.burst


def _hash_of(key_id: str) -> int:
    digest = hashlib.blake2b(key_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") | 1  # never 0, which marks an unused slot
