"""The transactional outbox, as the relay drains it."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class OutboxRow:
    seq: int
    id: str
    aggregatetype: str
    aggregateid: str
    type: str
    payload: bytes  # the CloudEvents envelope as JSON


class OutboxBatch(Protocol):
    rows: list[OutboxRow]

    async def mark_published(self, now: datetime) -> None: ...


class OutboxStore(Protocol):
    def batch(self, limit: int) -> AbstractAsyncContextManager[OutboxBatch]:
        """`async with store.batch(limit) as batch:` holds up to `limit` unpublished rows (oldest
        first, never a row whose aggregate has an older unpublished row) until the block ends, so
        that no other relay takes them meanwhile (row locks, SKIP LOCKED; on SQLite the relays'
        turn, which holds no write lock across the block); rows not marked published by the end
        of the block stay unpublished."""
        ...

    async def lag(self, now: datetime) -> tuple[int, float]:
        """(unpublished rows, age in seconds of the oldest one)."""
        ...
