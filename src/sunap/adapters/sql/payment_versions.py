"""SqlPaymentVersions: the committed version of many payments in one primary-key read, for the
slow look that catches changes other processes commit (application/payment_changes.py)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from .engine import reader
from .tables import payments

# Bound parameters per statement stay well under every backend's limit (SQLite: 32,766).
CHUNK = 500


class SqlPaymentVersions:
    def __init__(self, engine: AsyncEngine) -> None:
        self._reader = reader(engine)

    async def current(self, payment_ids: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        async with self._reader.connect() as conn:
            for start in range(0, len(payment_ids), CHUNK):
                chunk = payment_ids[start : start + CHUNK]
                rows = await conn.execute(
                    select(payments.c.id, payments.c.version).where(payments.c.id.in_(chunk))
                )
                found.update({payment_id: version for payment_id, version in rows})
        return found
