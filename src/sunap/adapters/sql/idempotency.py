"""SqlIdempotencyStore: inbound Idempotency-Key claims (docs/reliability.md, Inbound idempotency).

A claim is an INSERT that either wins or hits the primary key; only then is the existing row
read (under a row lock) to decide between replay, in-flight, mismatch and take-over. Never
check-then-insert: two requests would both see "no row".
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.application.ports.idempotency import ClaimOutcome, IdempotencyClaim, StoredResponse

from . import direct
from .columns import fitted_key
from .direct import SqlConnection
from .engine import one_statement
from .tables import idempotency_keys as keys

STARTED = "started"
FINISHED = "finished"

# Built once: a statement built per call costs more to key for the compiled cache than to send.
_THIS_KEY = (
    keys.c.tenant_id == bindparam("where_tenant"),
    keys.c.idempotency_key == bindparam("where_key"),
)
_INSERT = insert(keys)
_UPDATE = update(keys).where(*_THIS_KEY)
_RELEASE = delete(keys).where(*_THIS_KEY, keys.c.response_code.is_(None))
# The claim taken with this lock, and no other: each claim and take-over writes its own.
_RELEASE_HELD = _RELEASE.where(
    keys.c.locked_until == bindparam("held_until", type_=keys.c.locked_until.type)
)
_READ = select(keys).where(*_THIS_KEY)
_READ_LOCKED = _READ.with_for_update()


class SqlIdempotencyStore:
    def __init__(self, engine: AsyncEngine, retention: timedelta = timedelta(hours=24)) -> None:
        self._engine = engine
        self._one_statement = one_statement(engine)  # the INSERT, finish and release
        self._retention = retention
        self._row_locks = engine.dialect.name != "sqlite"

    async def claim(
        self, tenant_id: str, key: str, fingerprint: str, now: datetime, lock_until: datetime
    ) -> IdempotencyClaim:
        fresh = {
            "fingerprint": fitted_key(fingerprint, keys.c.fingerprint),
            "recovery_point": STARTED,
            "locked_until": lock_until,
            "response_code": None,
            "response_body": None,
            "response_content_type": None,
            "created_at": now,
        }
        # A key released between our INSERT and our look can be inserted again: go round once more.
        for _ in range(3):
            if await self._insert(tenant_id, key, fresh):
                return IdempotencyClaim(ClaimOutcome.NEW)
            claim = await self._inspect(tenant_id, key, fresh, now)
            if claim is not None:
                return claim
        raise RuntimeError(f"Could not claim idempotency key {key!r}: it keeps changing.")

    async def finish(self, tenant_id: str, key: str, response: StoredResponse) -> None:
        finished = {
            "recovery_point": FINISHED,
            "locked_until": None,
            "response_code": response.status_code,
            "response_body": response.body,
            "response_content_type": response.content_type,
        }
        async with direct.begin(self._one_statement, single=True) as conn:
            await conn.execute(_UPDATE, finished | _where(tenant_id, key))

    async def release(self, tenant_id: str, key: str, held_until: datetime | None = None) -> None:
        # A finished answer stays replayable: only an unanswered claim is deleted.
        async with direct.begin(self._one_statement, single=True) as conn:
            if held_until is None:
                await conn.execute(_RELEASE, _where(tenant_id, key))
            else:
                held = _where(tenant_id, key) | {"held_until": held_until}
                await conn.execute(_RELEASE_HELD, held)

    async def _insert(self, tenant_id: str, key: str, fresh: dict[str, Any]) -> bool:
        try:
            async with direct.begin(self._one_statement, single=True) as conn:
                await conn.execute(
                    _INSERT, {"tenant_id": tenant_id, "idempotency_key": key, **fresh}
                )
        except IntegrityError:
            return False
        return True

    async def _inspect(
        self, tenant_id: str, key: str, fresh: dict[str, Any], now: datetime
    ) -> IdempotencyClaim | None:
        where = _where(tenant_id, key)
        async with direct.begin(self._engine) as conn:
            stmt = _READ_LOCKED if self._row_locks else _READ
            row = (await conn.execute(stmt, where)).mappings().first()
            if row is None:
                return None
            if row["created_at"] <= now - self._retention:
                await self._take_over(conn, where, fresh)  # pruned in spirit: a new request
                return IdempotencyClaim(ClaimOutcome.NEW)
            if row["fingerprint"] != fresh["fingerprint"]:
                return IdempotencyClaim(ClaimOutcome.MISMATCH)
            if row["response_code"] is not None:
                response = StoredResponse(
                    status_code=row["response_code"],
                    body=bytes(row["response_body"] or b""),
                    content_type=row["response_content_type"] or "application/json",
                )
                return IdempotencyClaim(ClaimOutcome.REPLAY, response)
            if row["locked_until"] is not None and row["locked_until"] > now:
                return IdempotencyClaim(ClaimOutcome.IN_FLIGHT)
            # Its holder's lock ran out: the holder died or hung. This caller takes over.
            await self._take_over(conn, where, fresh | {"created_at": row["created_at"]})
            return IdempotencyClaim(ClaimOutcome.NEW)

    @staticmethod
    async def _take_over(conn: SqlConnection, where: dict[str, str], fresh: dict[str, Any]) -> None:
        await conn.execute(_UPDATE, fresh | where)


def _where(tenant_id: str, key: str) -> dict[str, str]:
    return {"where_tenant": tenant_id, "where_key": key}
