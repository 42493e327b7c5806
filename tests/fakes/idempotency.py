"""The inbound Idempotency-Key store in memory, with the IdempotencyStore protocol's rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sunap.application.ports.idempotency import ClaimOutcome, IdempotencyClaim, StoredResponse


@dataclass
class _Record:
    fingerprint: str
    created_at: datetime
    locked_until: datetime | None
    response: StoredResponse | None = None


class InMemoryIdempotencyStore:
    def __init__(self, retention: timedelta = timedelta(hours=24)) -> None:
        self.retention = retention
        self._records: dict[tuple[str, str], _Record] = {}

    async def claim(
        self, tenant_id: str, key: str, fingerprint: str, now: datetime, lock_until: datetime
    ) -> IdempotencyClaim:
        record = self._records.get((tenant_id, key))
        if record is None or record.created_at + self.retention < now:
            self._records[(tenant_id, key)] = _Record(fingerprint, now, lock_until)
            return IdempotencyClaim(ClaimOutcome.NEW)
        if record.fingerprint != fingerprint:
            return IdempotencyClaim(ClaimOutcome.MISMATCH)
        if record.response is not None:
            return IdempotencyClaim(ClaimOutcome.REPLAY, record.response)
        if record.locked_until is not None and record.locked_until > now:
            return IdempotencyClaim(ClaimOutcome.IN_FLIGHT)
        record.locked_until = lock_until  # its holder is gone: take the stale lock over
        return IdempotencyClaim(ClaimOutcome.NEW)

    async def finish(self, tenant_id: str, key: str, response: StoredResponse) -> None:
        record = self._records[(tenant_id, key)]
        record.response = response
        record.locked_until = None

    async def release(self, tenant_id: str, key: str, held_until: datetime | None = None) -> None:
        record = self._records.get((tenant_id, key))
        if record is None or record.response is not None:
            return
        if held_until is None or record.locked_until == held_until:
            del self._records[(tenant_id, key)]

    def __len__(self) -> int:
        return len(self._records)
