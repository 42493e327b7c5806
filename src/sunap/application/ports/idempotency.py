"""Where inbound Idempotency-Keys are claimed, kept and released."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class ClaimOutcome(enum.Enum):
    NEW = "new"  # this caller owns the key: execute, then finish or release
    REPLAY = "replay"  # finished before: replay `response`
    IN_FLIGHT = "in_flight"  # another request holds it
    MISMATCH = "mismatch"  # same key, different method/path/body


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: bytes
    content_type: str


@dataclass(frozen=True)
class IdempotencyClaim:
    outcome: ClaimOutcome
    response: StoredResponse | None = None


class IdempotencyStore(Protocol):
    async def claim(
        self, tenant_id: str, key: str, fingerprint: str, now: datetime, lock_until: datetime
    ) -> IdempotencyClaim:
        """Atomically claim (tenant, key). A lock older than lock_until of its holder is stale and
        taken over. Keys older than the retention period are treated as new."""
        ...

    async def finish(self, tenant_id: str, key: str, response: StoredResponse) -> None: ...

    async def release(self, tenant_id: str, key: str, held_until: datetime | None = None) -> None:
        """Forget a claim whose request must not be replayed (rejected before execution, or an
        unknown PG outcome): the client may retry with the same key. `held_until`: the lock
        the claim was taken with; then only that claim goes, not one a later request took."""
        ...
