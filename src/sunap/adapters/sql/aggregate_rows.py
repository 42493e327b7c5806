"""A repository of one-table aggregates (billing keys, subscriptions), with the identity map and
the version check the unit of work relies on: it remembers every aggregate it handed out with the
row it was read from, saves exactly what changed, and refuses a stale version on commit.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import (
    CursorResult,
    Insert,
    Select,
    Table,
    Update,
    and_,
    bindparam,
    insert,
    or_,
    select,
    update,
)

from sunap.application.errors import StaleAggregate
from sunap.application.ports.billing import BillingQuery
from sunap.domain.aggregate import Aggregate
from sunap.domain.errors import InvalidRequest

from .direct import SqlConnection

Row = dict[str, Any]
A = TypeVar("A", bound=Aggregate)
MAX_PAGE = 100
ID = re.compile(r"[A-Za-z0-9_\-]{1,64}")


@dataclass
class _Tracked(Generic[A]):
    aggregate: A
    version: int | None  # None: new, not yet inserted
    row: Row | None
    written: tuple[int, Row] | None = None


class SqlAggregateRepository(Generic[A]):
    def __init__(
        self,
        session: SqlConnection,
        table: Table,
        to_row: Callable[[A], Row],
        from_row: Callable[[Row], A],
        *,
        row_locks: bool,
    ) -> None:
        self._session = session
        self._table = table
        self._to_row = to_row
        self._from_row = from_row
        self._locks = row_locks
        self._tracked: dict[str, _Tracked[A]] = {}

    def add(self, aggregate: A) -> None:
        if aggregate.id not in self._tracked:
            self._tracked[aggregate.id] = _Tracked(aggregate, version=None, row=None)

    async def one(self, where: Any, for_update: bool) -> A | None:
        stmt = select(self._table).where(where).limit(1)
        if for_update and self._locks:
            stmt = stmt.with_for_update()
        found = await self.load(stmt)
        return found[0] if found else None

    async def load(self, stmt: Select[Any]) -> builtins.list[A]:
        rows = [dict(r) for r in (await self._session.execute(stmt)).mappings()]
        return [self._track(row) for row in rows]

    async def page(
        self, tenant_id: str, query: BillingQuery, *filters: Any
    ) -> tuple[builtins.list[A], str | None]:
        """Newest first, `query.limit` at a time, with an opaque cursor to the next page."""
        if not 1 <= query.limit <= MAX_PAGE:
            raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE}.")
        t = self._table.c
        stmt = select(self._table).where(t.tenant_id == tenant_id, *filters)
        if query.customer_key is not None:
            stmt = stmt.where(t.customer_key == query.customer_key)
        if query.status is not None:
            stmt = stmt.where(t.status == query.status)
        if query.cursor is not None:
            created_at, last_id = _decode_cursor(query.cursor)
            stmt = stmt.where(
                or_(t.created_at < created_at, and_(t.created_at == created_at, t.id < last_id))
            )
        stmt = stmt.order_by(t.created_at.desc(), t.id.desc()).limit(query.limit + 1)
        items = await self.load(stmt)
        if len(items) <= query.limit:
            return items, None
        items = items[: query.limit]
        last = self._to_row(items[-1])
        return items, _encode_cursor(last["created_at"], last["id"])

    # -- used by the unit of work ------------------------------------------------------------
    def with_events(self) -> builtins.list[A]:
        return [t.aggregate for t in self._tracked.values() if t.aggregate.events]

    def writes_pending(self) -> int:
        """How many statements save_all would send now."""
        return sum(
            tracked.version is None or self._changed(tracked, self._to_row(tracked.aggregate))
            for tracked in self._tracked.values()
        )

    async def save_all(self) -> builtins.list[A]:
        saved: builtins.list[A] = []
        for tracked in self._tracked.values():
            aggregate = tracked.aggregate
            row = self._to_row(aggregate)
            inserting, updating = _writes(self._table)
            if tracked.version is None:
                await self._session.execute(inserting, row | {"version": aggregate.version})
                tracked.written = (aggregate.version, row)
            elif self._changed(tracked, row):
                new_version = tracked.version + 1
                values = {k: v for k, v in row.items() if k != "id"} | {
                    "version": new_version,
                    "where_id": aggregate.id,
                    "where_version": tracked.version,
                }
                result = cast(CursorResult[Any], await self._session.execute(updating, values))
                if result.rowcount != 1:
                    raise StaleAggregate(
                        f"{aggregate.aggregate_type} {aggregate.id} changed since version "
                        f"{tracked.version} was read."
                    )
                tracked.written = (new_version, row)
            else:
                continue
            saved.append(aggregate)
        return saved

    @staticmethod
    def _changed(tracked: _Tracked[A], row: Row) -> bool:
        return bool(tracked.aggregate.events) or row != tracked.row

    def saved(self) -> None:
        for tracked in self._tracked.values():
            if tracked.written is not None:
                tracked.version, tracked.row = tracked.written
                tracked.aggregate.version = tracked.version
                tracked.written = None

    def forget_all(self) -> None:
        self._tracked.clear()

    def _track(self, row: Row) -> A:
        known = self._tracked.get(row["id"])
        if known is not None:  # one object per aggregate per unit of work
            return known.aggregate
        aggregate = self._from_row(row)
        self._tracked[aggregate.id] = _Tracked(
            aggregate, version=aggregate.version, row=self._to_row(aggregate)
        )
        return aggregate


def _encode_cursor(created_at: datetime, last_id: str) -> str:
    raw = json.dumps([created_at.isoformat(), last_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_at, last_id = json.loads(base64.urlsafe_b64decode(padded))
        when = datetime.fromisoformat(created_at)
        in_utc = when.astimezone(UTC) if when.tzinfo is not None else None
    except (ValueError, TypeError, OverflowError, binascii.Error) as exc:
        raise InvalidRequest("cursor is not a cursor this API returned.") from exc
    if in_utc is None or not isinstance(last_id, str) or not ID.fullmatch(last_id):
        raise InvalidRequest("cursor is not a cursor this API returned.")
    return in_utc, last_id


@functools.cache
def _writes(table: Table) -> tuple[Insert, Update]:
    """A table's insert and versioned update, built once: building one per call cost more than
    sending it (keying it for the compiled cache)."""
    versioned = update(table).where(
        table.c.id == bindparam("where_id"), table.c.version == bindparam("where_version")
    )
    return insert(table), versioned
