"""SqlPaymentRepository: payments read and written inside one unit of work's transaction.

The repository remembers every payment it handed out (with the row it was read from), so that
the unit of work can save exactly what changed and refuse a stale version on commit.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from sunap.application.errors import StaleAggregate
from sunap.application.ports.payments import PaymentPage, PaymentQuery
from sunap.domain.errors import DuplicateOrderId, InvalidRequest, PaymentIdTaken, PaymentKeyTaken
from sunap.domain.payment import CHANGEABLE_AT_TOSS, NEVER_APPROVED, Payment, PaymentStatus

from .direct import DirectConnection, SqlConnection, carries_inserts
from .payment_rows import Row, cancel_to_row, payment_from_row, payment_to_row
from .tables import payment_cancels, payments

MAX_PAGE = 100
# What a payment id in a cursor looks like: a forged cursor must not carry anything else (a NUL,
# a lone surrogate) into a query.
ID = re.compile(r"[A-Za-z0-9_\-]{1,64}")


@dataclass
class _Tracked:
    """A payment as this unit of work read (or last wrote) it."""

    payment: Payment
    version: int | None  # None: new, not yet inserted
    row: Row | None = None
    cancels: dict[str, Row] = field(default_factory=dict)
    written: tuple[int, Row, dict[str, Row]] | None = None  # what save_all wrote, until commit
    # The cancel turn (next_cancel_at) as an unlocked read saw it; None with turn_read False:
    # not read so (a locked read, an attached or new payment).
    turn_seen: datetime | None = None
    turn_read: bool = False
    # A change of the turn decided from that read, sent with the payment's own write (see
    # claim_cancel_turn): ("take", now, hold until) or ("end", held until, next).
    turn: tuple[Literal["take", "end"], datetime, datetime] | None = None


class SqlPaymentRepository:
    def __init__(
        self, session: SqlConnection, *, dialect: str, row_locks: bool, tracks: bool = True
    ) -> None:
        """row_locks: use SELECT … FOR UPDATE (SQLite's BEGIN IMMEDIATE already locks it all).
        tracks: remember what was read, to write its changes; a unit that only reads does not
        (a page of payments read, each copied to be compared later, cost a tenth of a list)."""
        self._session = session
        self._tracked: dict[str, _Tracked] = {}
        self._tracks = tracks
        self._locks = row_locks
        # PostgreSQL locks the payment's row alone first, then reads it with its cancels (see
        # _Lookup); MariaDB has no FOR UPDATE OF and locks the payment's cancels with it, its
        # locking reads seeing every row as last committed.
        self._lock_mode: _Lock | None = (
            None if not row_locks else "payment" if dialect == "postgresql" else "all"
        )

    # -- the PaymentRepository port ----------------------------------------------------------
    def add(self, payment: Payment) -> None:
        if payment.id not in self._tracked:
            self._tracked[payment.id] = _Tracked(payment, version=None)

    def attach(self, payment: Payment) -> Payment:
        row = payment_to_row(payment) | {"version": payment.version}
        return self._track(row, self._cancel_rows(payment))  # a copy, as a read would give

    async def get(
        self, tenant_id: str, payment_id: str, *, for_update: bool = False
    ) -> Payment | None:
        return await self._one(_BY_ID, for_update, tenant_id, payment_id)

    async def get_by_order_id(
        self, tenant_id: str, order_id: str, *, for_update: bool = False
    ) -> Payment | None:
        return await self._one(_BY_ORDER, for_update, tenant_id, order_id)

    async def get_by_payment_key(
        self, pg_account_id: str, payment_key: str, *, for_update: bool = False
    ) -> Payment | None:
        return await self._one(_BY_PAYMENT_KEY, for_update, pg_account_id, payment_key)

    async def get_by_account_order(
        self, pg_account_id: str, order_id: str, *, for_update: bool = False
    ) -> Payment | None:
        return await self._one(_BY_ACCOUNT_ORDER, for_update, pg_account_id, order_id)

    async def get_any_tenant(self, payment_id: str, *, for_update: bool = False) -> Payment | None:
        return await self._one(_BY_ANY_TENANT, for_update, payment_id)

    async def list(self, tenant_id: str, query: PaymentQuery) -> PaymentPage:
        if not 1 <= query.limit <= MAX_PAGE:
            raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE}.")
        given: dict[str, Any] = {"page_tenant": tenant_id, "page_limit": query.limit + 1}
        status = query.status.value if query.status is not None else None
        wanted = list(
            zip(
                _PAGE_FILTERS,
                (query.order_id, query.customer_key, status, query.subscription_id),
                strict=True,
            )
        )
        filters = tuple(name for name, value in wanted if value is not None)
        given |= {f"page_{name}": value for name, value in wanted if value is not None}
        if query.cursor is not None:
            given["page_after_at"], given["page_after_id"] = _decode_cursor(query.cursor)
        statement = _page_statement(filters, after=query.cursor is not None)
        items = self._page_of((await self._session.execute(statement, given)).mappings())
        if len(items) <= query.limit:
            return PaymentPage(items=items, next_cursor=None)
        items = items[: query.limit]
        return PaymentPage(items=items, next_cursor=_encode_cursor(items[-1]))

    async def due_for_reconcile(self, now: datetime, limit: int) -> builtins.list[str]:
        stmt = (
            select(payments.c.id)
            .where(payments.c.next_reconcile_at <= now)
            .order_by(payments.c.next_reconcile_at, payments.c.id)
            .limit(limit)
        )
        return list((await self._session.execute(stmt)).scalars())

    async def ready_created_before(
        self,
        cutoff: datetime,
        limit: int,
        *,
        now: datetime,
        after: tuple[datetime, str] | None = None,
    ) -> builtins.list[tuple[datetime, str]]:
        stmt = (
            select(payments.c.created_at, payments.c.id)
            .where(
                payments.c.status == PaymentStatus.READY.value,
                payments.c.created_at <= cutoff,
                payments.c.needs_review.is_(False),
                or_(payments.c.expiry_recheck_at.is_(None), payments.c.expiry_recheck_at <= now),
            )
            .order_by(payments.c.created_at, payments.c.id)
            .limit(limit)
        )
        rows = (await self._session.execute(_past(stmt, after))).mappings()
        return [(row["created_at"], row["id"]) for row in rows]

    async def changeable_at_toss_since(
        self, since: datetime, limit: int, *, after: tuple[datetime, str] | None = None
    ) -> builtins.list[tuple[datetime, str]]:
        stmt = (
            select(payments.c.created_at, payments.c.id)
            .where(
                payments.c.status.in_([s.value for s in CHANGEABLE_AT_TOSS]),
                payments.c.created_at >= since,
            )
            .order_by(payments.c.created_at, payments.c.id)
            .limit(limit)
        )
        rows = (await self._session.execute(_past(stmt, after))).mappings()
        return [(row["created_at"], row["id"]) for row in rows]

    async def lease_for_reconcile(
        self, payment_id: str, seen_at: datetime, until: datetime
    ) -> bool:
        """Conditional UPDATE; takes effect when the unit of work commits."""
        stmt = (
            update(payments)
            .where(payments.c.id == payment_id, payments.c.next_reconcile_at == seen_at)
            .values(next_reconcile_at=until)
        )
        result = cast(CursorResult[Any], await self._session.execute(stmt))
        won = result.rowcount == 1
        tracked = self._tracked.get(payment_id)
        if won and tracked is not None and tracked.row is not None:
            # Keep our copy in step, so the lease isn't mistaken for a change of ours.
            tracked.payment.next_reconcile_at = until
            tracked.row["next_reconcile_at"] = until
        return won

    async def claim_cancel_turn(
        self, tenant_id: str, payment_id: str, now: datetime, hold_until: datetime
    ) -> datetime | None:
        """Conditional UPDATE of a column no aggregate maps, so it never bumps the version.

        A payment this unit read without a lock, where writes ride on the payment's own
        (PostgreSQL), takes the turn as that read saw it: held, nothing is sent; free, the
        payment's write takes it, and is refused as stale (the unit is run again, locked) if
        another took it since."""
        folded = self._folds_turn(tenant_id, payment_id)
        if folded is not None:
            if folded.turn_seen is not None and folded.turn_seen > now:
                return folded.turn_seen
            folded.turn = ("take", now, hold_until)
            return None
        if await self._take_turn(tenant_id, payment_id, now, hold_until):
            return None
        mine = {"where_id": payment_id, "where_tenant": tenant_id}
        free_at: datetime | None = (
            await self._session.execute(_CANCEL_TURN, mine)
        ).scalar_one_or_none()
        return free_at

    async def end_cancel_turn(
        self, tenant_id: str, payment_id: str, held_until: datetime, next_at: datetime
    ) -> None:
        """As the hold it names is still there; sent with the payment's write as
        claim_cancel_turn's is."""
        folded = self._folds_turn(tenant_id, payment_id)
        if folded is not None:
            folded.turn = ("end", held_until, next_at)
            return
        await self._end_turn(tenant_id, payment_id, held_until, next_at)

    async def _take_turn(
        self, tenant_id: str, payment_id: str, now: datetime, hold_until: datetime
    ) -> bool:
        """The turn's own conditional UPDATE: taken if it was free by `now`."""
        taken = {
            "next_cancel_at": hold_until,
            "where_now": now,
            "where_id": payment_id,
            "where_tenant": tenant_id,
        }
        result = cast(CursorResult[Any], await self._session.execute(_TAKE_CANCEL_TURN, taken))
        return result.rowcount == 1

    async def _end_turn(
        self, tenant_id: str, payment_id: str, held_until: datetime, next_at: datetime
    ) -> None:
        ended = {
            "next_cancel_at": next_at,
            "where_held_until": held_until,
            "where_id": payment_id,
            "where_tenant": tenant_id,
        }
        await self._session.execute(_END_CANCEL_TURN, ended)

    # -- used by the unit of work ------------------------------------------------------------
    def with_events(self) -> builtins.list[Payment]:
        return [t.payment for t in self._tracked.values() if t.payment.events]

    def writes_pending(self) -> int:
        """How many statements save_all would send now: a payment's insert or versioned
        update, one per cancel row new or changed unless they ride on the update (changed ones
        always do where writes ride, a new one when it is alone), and a turn taken or freed on
        a payment not written."""
        count = 0
        for tracked in self._tracked.values():
            if tracked.version is None:
                count += 1 + len(tracked.payment.cancels)
            elif self._changed(tracked):
                new, changed = self._cancel_changes(tracked)
                if not self._carries():
                    count += 1 + len(new) + len(changed)
                else:  # changed rows always ride; new ones when there is one
                    count += 1 + (len(new) if len(new) > 1 else 0)
            elif tracked.turn is not None:
                count += 1
        return count

    async def save_all(self) -> builtins.list[Payment]:
        """Insert new payments, update changed ones under the version check; return them all."""
        saved: builtins.list[Payment] = []
        for tracked in self._tracked.values():
            if tracked.version is None:
                await self._insert(tracked)
                saved.append(tracked.payment)
            elif self._changed(tracked):
                await self._update(tracked)
                saved.append(tracked.payment)
            elif tracked.turn is not None:
                await self._send_turn(tracked)
        return saved

    def saved(self) -> None:
        """The transaction committed: what save_all wrote is now what we have read."""
        for tracked in self._tracked.values():
            if tracked.written is not None:
                tracked.version, tracked.row, tracked.cancels = tracked.written
                tracked.payment.version = tracked.version
                tracked.written = None
            if tracked.turn is not None:
                kind, _, value = tracked.turn
                if kind == "take":
                    tracked.turn_seen = value  # held by us until then
                else:  # freed, or left to another's hold: not known without a read
                    tracked.turn_read = False
                tracked.turn = None

    def forget_all(self) -> None:
        self._tracked.clear()

    # -- internals ---------------------------------------------------------------------------
    async def _one(self, lookup: _Lookup, for_update: bool, *key: str) -> Payment | None:
        """One payment and its cancels (the lookups are all unique): one round trip, two for a
        locked read on PostgreSQL of a payment that may have cancels (see _Lookup)."""
        lock = self._lock_mode if for_update else None
        params = dict(zip(lookup.names, key, strict=True))
        if lock == "payment":
            locked = (await self._session.execute(lookup.lock_payment, params)).mappings().first()
            if locked is None:
                return None
            if locked["status"] in _NO_CANCELS:  # the locked row, as last committed
                return self._track(dict(locked), [])
        result = await self._session.execute(lookup.statement(lock), params)
        rows = list(result.mappings())
        if not rows:
            return None
        payment_row = {name: rows[0][name] for name in _PAYMENT_COLUMNS}
        cancel_rows = [
            {name: row[_CANCEL_PREFIX + name] for name in _CANCEL_COLUMNS}
            for row in rows
            if row[_CANCEL_PREFIX + "id"] is not None
        ]
        first_read = payment_row["id"] not in self._tracked
        payment = self._track(payment_row, cancel_rows)
        if lock is None and first_read and self._tracks:
            tracked = self._tracked[payment.id]
            tracked.turn_seen, tracked.turn_read = payment_row["next_cancel_at"], True
        return payment

    def _page_of(self, rows: Iterable[Mapping[str, Any]]) -> builtins.list[Payment]:
        """Payments from a page's rows, each payment's row once per cancel (see
        _page_statement), in the order they came."""
        found: dict[str, tuple[Row, builtins.list[Row]]] = {}
        for row in rows:
            payment_id = row["id"]
            if payment_id not in found:
                found[payment_id] = ({name: row[name] for name in _PAYMENT_COLUMNS}, [])
            if row[_CANCEL_PREFIX + "id"] is not None:
                cancel = {name: row[_CANCEL_PREFIX + name] for name in _CANCEL_COLUMNS}
                found[payment_id][1].append(cancel)
        return [self._track(payment, cancels) for payment, cancels in found.values()]

    def _track(self, row: Row, cancel_rows: Sequence[Row]) -> Payment:
        if not self._tracks:
            return payment_from_row(row, cancel_rows)
        known = self._tracked.get(row["id"])
        if known is not None:  # one object per payment per unit of work
            return known.payment
        payment = payment_from_row(row, cancel_rows)
        self._tracked[payment.id] = _Tracked(
            payment,
            version=payment.version,
            row=payment_to_row(payment),
            cancels={c.id: cancel_to_row(payment.id, i, c) for i, c in enumerate(payment.cancels)},
        )
        return payment

    def _changed(self, tracked: _Tracked) -> bool:
        payment = tracked.payment
        return (
            bool(payment.events)
            or payment_to_row(payment) != tracked.row
            or self._cancel_rows(payment) != list(tracked.cancels.values())
        )

    @staticmethod
    def _cancel_rows(payment: Payment) -> builtins.list[Row]:
        return [cancel_to_row(payment.id, i, c) for i, c in enumerate(payment.cancels)]

    async def _insert(self, tracked: _Tracked) -> None:
        payment = tracked.payment
        row = payment_to_row(payment) | {"version": payment.version}
        try:
            await self._session.execute(_INSERT_PAYMENT, row)
        except IntegrityError as exc:
            if _names_any(exc, _ID_TAKEN):  # only a new payment's own key can be "PRIMARY" here
                raise PaymentIdTaken(f"Payment {payment.id} exists already.") from exc
            _raise_if_taken(exc, payment)
            raise
        tracked.written = (
            payment.version,
            payment_to_row(payment),
            await self._save_cancels(tracked),
        )

    async def _update(self, tracked: _Tracked) -> None:
        payment = tracked.payment
        assert tracked.version is not None and tracked.row is not None
        new_version = tracked.version + 1
        row = payment_to_row(payment)
        # Only the columns that changed: under the version check the stored row is the one read.
        read = tracked.row  # the same columns: both come from payment_to_row
        values = {k: v for k, v in row.items() if read[k] != v}
        values |= {"version": new_version, "where_id": payment.id, "where_version": tracked.version}
        statement = _UPDATE_PAYMENT
        if tracked.turn is not None:
            kind, first, second = tracked.turn
            statement = (
                _UPDATE_PAYMENT_TAKING_TURN if kind == "take" else _UPDATE_PAYMENT_ENDING_TURN
            )
            values |= (
                {"turn_now": first, "turn_hold": second}
                if kind == "take"
                else {"turn_held": first, "turn_next": second}
            )
        session = self._session
        carried = self._carries()
        new, changed = self._cancel_changes(tracked)
        if carried:  # the cancel rows ride on the update (direct.py); several new ones follow it
            assert isinstance(session, DirectConnection)
            for cancel in new if len(new) == 1 else ():
                await session.insert_soon(payment_cancels, cancel)
            for cancel in changed:
                await session.update_soon(payment_cancels, "id", cancel)
        try:
            result = cast(CursorResult[Any], await session.execute(statement, values))
        except IntegrityError as exc:
            _raise_if_taken(exc, payment)
            raise
        if result.rowcount != 1:
            raise StaleAggregate(
                f"Payment {payment.id} changed since version {tracked.version} was read"
                + (", or its cancel turn was taken." if tracked.turn else ".")
            )
        if not carried:
            await self._save_cancels(tracked)
        elif len(new) > 1:
            for cancel in new:
                await session.execute(_INSERT_CANCEL, cancel)
        tracked.written = (new_version, row, self._cancel_rows_by_id(payment))

    async def _send_turn(self, tracked: _Tracked) -> None:
        """A turn decided from an unlocked read, on a payment not written: sent on its own."""
        assert tracked.turn is not None
        kind, first, second = tracked.turn
        payment = tracked.payment
        if kind == "end":
            await self._end_turn(payment.tenant_id, payment.id, first, second)
        elif not await self._take_turn(payment.tenant_id, payment.id, first, second):
            raise StaleAggregate(f"Payment {payment.id}'s cancel turn was taken.")

    def _carries(self) -> bool:
        session = self._session
        return isinstance(session, DirectConnection) and session.defers_writes

    def _folds_turn(self, tenant_id: str, payment_id: str) -> _Tracked | None:
        """The tracked payment whose turn goes with its own write, if it is one (see
        claim_cancel_turn)."""
        tracked = self._tracked.get(payment_id)
        if (
            tracked is None
            or not tracked.turn_read
            or tracked.payment.tenant_id != tenant_id
            or not self._carries()
        ):
            return None
        if tracked.turn is not None:  # no use case changes the turn twice in one unit
            raise RuntimeError(f"A second change of payment {payment_id}'s cancel turn.")
        return tracked

    def _cancel_changes(self, tracked: _Tracked) -> tuple[builtins.list[Row], builtins.list[Row]]:
        """The payment's cancel rows to insert, and those to update."""
        new, changed = [], []
        for row in self._cancel_rows(tracked.payment):
            before = tracked.cancels.get(row["id"])
            if before is None:
                new.append(row)
            elif before != row:
                changed.append(row)
        return new, changed

    def _cancel_rows_by_id(self, payment: Payment) -> dict[str, Row]:
        return {row["id"]: row for row in self._cancel_rows(payment)}

    async def _save_cancels(self, tracked: _Tracked) -> dict[str, Row]:
        for row in self._cancel_rows(tracked.payment):
            before = tracked.cancels.get(row["id"])
            if before is None:
                await self._session.execute(_INSERT_CANCEL, row)
            elif before != row:
                values = {k: v for k, v in row.items() if k != "id"} | {"where_id": row["id"]}
                await self._session.execute(_UPDATE_CANCEL, values)
        return self._cancel_rows_by_id(tracked.payment)


# -- statements built once: SQLAlchemy then reuses their cache key and compiled form ----------
_Lock = Literal["payment", "all"]
_CANCEL_PREFIX = "cancel_"
_PAYMENT_COLUMNS = tuple(c.key for c in payments.c)


def _past(stmt: Select[Any], after: tuple[datetime, str] | None) -> Select[Any]:
    """Only the rows past `after` (created_at, id), for a list walked oldest first."""
    if after is None:
        return stmt
    created_at, last_id = after
    return stmt.where(
        or_(
            payments.c.created_at > created_at,
            and_(payments.c.created_at == created_at, payments.c.id > last_id),
        )
    )


_CANCEL_COLUMNS = tuple(c.key for c in payment_cancels.c)
_NO_CANCELS = frozenset(status.value for status in NEVER_APPROVED)
_INSERT_CANCEL = insert(payment_cancels)
# The audit row and the outbox row of a transaction ride on these (direct.insert_soon).
_INSERT_PAYMENT = carries_inserts(insert(payments))
_UPDATE_PAYMENT = carries_inserts(
    update(payments).where(
        payments.c.id == bindparam("where_id"), payments.c.version == bindparam("where_version")
    )
)
# The same, taking the payment's cancel turn if it is free, or freeing the hold it names
# (claim_cancel_turn, end_cancel_turn): a turn taken meanwhile makes it a stale write.
_UPDATE_PAYMENT_TAKING_TURN = carries_inserts(
    _UPDATE_PAYMENT.where(
        or_(
            payments.c.next_cancel_at.is_(None),
            payments.c.next_cancel_at
            <= bindparam("turn_now", type_=payments.c.next_cancel_at.type),
        )
    ).values(next_cancel_at=bindparam("turn_hold", type_=payments.c.next_cancel_at.type))
)
_UPDATE_PAYMENT_ENDING_TURN = carries_inserts(
    _UPDATE_PAYMENT.values(
        next_cancel_at=case(
            (
                payments.c.next_cancel_at
                == bindparam("turn_held", type_=payments.c.next_cancel_at.type),
                bindparam("turn_next", type_=payments.c.next_cancel_at.type),
            ),
            else_=payments.c.next_cancel_at,
        )
    )
)


_UPDATE_CANCEL = update(payment_cancels).where(payment_cancels.c.id == bindparam("where_id"))
# A cancel's turn (cancel pacing): a column no aggregate maps.
_THIS_PAYMENT = (
    payments.c.id == bindparam("where_id"),
    payments.c.tenant_id == bindparam("where_tenant"),
)
_TAKE_CANCEL_TURN = update(payments).where(
    *_THIS_PAYMENT,
    or_(
        payments.c.next_cancel_at.is_(None),
        payments.c.next_cancel_at <= bindparam("where_now", type_=payments.c.next_cancel_at.type),
    ),
)
_CANCEL_TURN = select(payments.c.next_cancel_at).where(*_THIS_PAYMENT)
_END_CANCEL_TURN = update(payments).where(
    *_THIS_PAYMENT,
    payments.c.next_cancel_at
    == bindparam("where_held_until", type_=payments.c.next_cancel_at.type),
)


# A page of payments (the list): built once per set of filters, its values bound by name. The
# page is taken first (a subquery, in the order of its index), then joined to its cancels, and
# ordered again: a sort of the page's few rows only. One round trip, where a second statement
# for the cancels of the page's ids was compiled anew for each page (its IN list).
_PAGE_FILTERS = ("order_id", "customer_key", "status", "subscription_id")
_PAGES: dict[tuple[tuple[str, ...], bool], Select[Any]] = {}


def _page_statement(filters: tuple[str, ...], *, after: bool) -> Select[Any]:
    found = _PAGES.get((filters, after))
    if found is not None:
        return found
    newest_first = (payments.c.created_at.desc(), payments.c.id.desc())
    page = select(payments).where(payments.c.tenant_id == bindparam("page_tenant"))
    for name in filters:
        page = page.where(payments.c[name] == bindparam(f"page_{name}"))
    if after:  # the cursor: older than the last payment of the page before
        at = bindparam("page_after_at", type_=payments.c.created_at.type)
        last_id = bindparam("page_after_id", type_=payments.c.id.type)
        page = page.where(
            or_(
                payments.c.created_at < at,
                and_(payments.c.created_at == at, payments.c.id < last_id),
            )
        )
    taken = (
        page.order_by(*newest_first).limit(bindparam("page_limit", type_=Integer)).subquery("page")
    )
    cancels = [c.label(_CANCEL_PREFIX + c.key) for c in payment_cancels.c]
    found = (
        select(*(taken.c[name] for name in _PAYMENT_COLUMNS), *cancels)
        .outerjoin(payment_cancels, payment_cancels.c.payment_id == taken.c.id)
        .order_by(taken.c.created_at.desc(), taken.c.id.desc(), payment_cancels.c.position)
    )
    _PAGES[(filters, after)] = found
    return found


class _Lookup:
    """A payment found by a unique key, with its cancels (outer join, in their order).

    On PostgreSQL a locked read is two statements: the payment's row is locked alone, then read
    with its cancels. One `FOR UPDATE OF payments` over the join would be wrong there: a row it
    had to wait for is re-checked and returned as the holder committed it, while the cancel rows
    joined to it stay as they were when the statement began, so a cancel the holder completed
    would look pending still, and completing it again would count its refund twice (the check
    on pending_cancel_amount refused that write: a 500 to the caller). The locked row itself
    comes back as committed, so a payment never approved (no cancels: a confirm's two reads)
    needs no second statement.
    """

    def __init__(self, *columns: ColumnElement[Any]) -> None:
        self.names = tuple(f"key_{c.key}" for c in columns)
        where = [c == bindparam(n) for c, n in zip(columns, self.names, strict=True)]
        cancels = [c.label(_CANCEL_PREFIX + c.key) for c in payment_cancels.c]
        self._plain = (
            select(payments, *cancels)
            .outerjoin(payment_cancels, payment_cancels.c.payment_id == payments.c.id)
            .where(*where)
            .order_by(payment_cancels.c.position)
        )
        self.lock_payment = select(payments).where(*where).with_for_update()
        # "payment": the row is already locked by lock_payment; the read after it sees the
        # cancels as last committed, each statement of a READ COMMITTED transaction taking
        # a fresh snapshot.
        self._locked = {"payment": self._plain, "all": self._plain.with_for_update()}

    def statement(self, lock: _Lock | None) -> Select[Any]:
        return self._plain if lock is None else self._locked[lock]


_BY_ID = _Lookup(payments.c.tenant_id, payments.c.id)
_BY_ORDER = _Lookup(payments.c.tenant_id, payments.c.order_id)
_BY_PAYMENT_KEY = _Lookup(payments.c.pg_account_id, payments.c.payment_key)
_BY_ACCOUNT_ORDER = _Lookup(payments.c.pg_account_id, payments.c.order_id)
_BY_ANY_TENANT = _Lookup(payments.c.id)


# How each database names the unique index a write ran into (PostgreSQL and MariaDB name the
# index, SQLite its columns).
_ORDER_TAKEN = (
    "uq_payments_tenant_order",
    "ux_payments_account_order",
    "payments.tenant_id, payments.order_id",
    "payments.pg_account_id, payments.order_id",
)
_PAYMENT_KEY_TAKEN = (
    "ux_payments_account_payment_key",
    "payments.pg_account_id, payments.payment_key",
)


# A payment's own primary key (MariaDB names no table: only an insert of a payment alone may
# read "PRIMARY" as this).
_ID_TAKEN = ("pk_payments", "for key 'PRIMARY'", "payments.id")


def _names_any(exc: IntegrityError, names: tuple[str, ...]) -> bool:
    text = str(exc.orig)
    return any(name in text for name in names)


def _raise_if_taken(exc: IntegrityError, payment: Payment) -> None:
    """Turn a write refused by a uniqueness rule into the domain's word for it. The messages
    name no tenant: who holds an orderId on a shared account is nobody else's business."""
    if _names_any(exc, _ORDER_TAKEN):
        raise DuplicateOrderId(f"A payment for orderId {payment.order_id} already exists.") from exc
    if _names_any(exc, _PAYMENT_KEY_TAKEN):
        raise PaymentKeyTaken("This paymentKey belongs to another payment.") from exc


def _encode_cursor(payment: Payment) -> str:
    raw = json.dumps([payment.created_at.isoformat(), payment.id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_at, payment_id = json.loads(base64.urlsafe_b64decode(padded))
        when = datetime.fromisoformat(created_at)
        # In UTC, as stored; a time at the calendar's edge cannot be moved there.
        in_utc = when.astimezone(UTC) if when.tzinfo is not None else None
    except (ValueError, TypeError, OverflowError, binascii.Error) as exc:
        raise InvalidRequest("cursor is not a cursor this API returned.") from exc
    if in_utc is None or not isinstance(payment_id, str) or not ID.fullmatch(payment_id):
        raise InvalidRequest("cursor is not a cursor this API returned.")
    return in_utc, payment_id
