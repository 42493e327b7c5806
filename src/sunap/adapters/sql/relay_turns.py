"""On SQLite, relays take turns through a lock file beside the database, not its write lock.

A relay must hold something from reading a batch until it has marked it published: two relays
(`sunap serve` and a `sunap worker` on the same file) that published one payment's events at once
could deliver them out of order. SQLite has no row locks, and its one write lock, held across the
publish, stopped every API write for as long as the broker took to answer: up to the publish
timeout (5 s) per attempt with a broker that accepts connections and never answers. Relays now
hold an exclusive `flock` on `<database>-relay` instead. Only relays ask for it; the kernel frees
it when its process dies (kill -9), so the batch that process left unmarked is published again
at once; and it is asked for without waiting: a relay that finds it taken has nothing to do this
poll (cancelling a wait in a thread would leave the thread holding the lock).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

LOCK_SUFFIX = "-relay"  # beside SQLite's own `-wal` and `-shm`


class RelayTurns:
    def __init__(self, database: str | None) -> None:
        in_memory = database in (None, "", ":memory:")
        # Resolved: processes started from other directories, or through a symlink, meet.
        self._path = None if in_memory else os.path.realpath(f"{database}{LOCK_SUFFIX}")
        # An in-memory database lives in one engine of one process: a flag is enough there.
        self._taken_in_memory = False

    @contextmanager
    def taken(self) -> Iterator[bool]:
        """Whether this relay has the turn, held until the block ends; False: another has it."""
        if self._path is None:
            if self._taken_in_memory:
                yield False
                return
            self._taken_in_memory = True
            try:
                yield True
            finally:
                self._taken_in_memory = False
            return
        # A descriptor of its own each time: flock is per open file, so two relays in one
        # process (tests) exclude each other as two processes do.
        descriptor = os.open(self._path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True  # closing the descriptor below releases the lock
        finally:
            os.close(descriptor)
