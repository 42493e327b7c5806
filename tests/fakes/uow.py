"""An in-memory unit of work that keeps the promises of the real one (sunap.application.ports).

Committed state lives in one `InMemoryStore` shared by every unit of work a factory makes.
A unit of work hands out copies, so a change that is not committed never leaks; on commit it
checks each changed payment's version (StaleAggregate if someone committed first), refuses
a second payment for one (tenant, orderId) or (PG account, orderId) with DuplicateOrderId, a
paymentKey another payment of the account holds with PaymentKeyTaken, and only then writes the
payments, their new events (to `store.outbox`, with a snapshot) and the audit entries, all at
once. Leaving the block without commit rolls back. `for_update=True` takes a per-payment lock
held until the transaction ends, as `SELECT … FOR UPDATE` would.
"""

from __future__ import annotations

import asyncio
import builtins
import copy
import dataclasses
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sunap.application.errors import StaleAggregate
from sunap.application.ports.audit import AuditEntry, AuditLog
from sunap.application.ports.billing import (
    BillingKeyPage,
    BillingKeyRepository,
    BillingQuery,
    DueSubscription,
    SubscriptionPage,
    SubscriptionRepository,
)
from sunap.application.ports.payments import PaymentPage, PaymentQuery, PaymentRepository
from sunap.domain.aggregate import DomainEvent
from sunap.domain.billing_key import BillingKey
from sunap.domain.errors import DuplicateOrderId, PaymentKeyTaken
from sunap.domain.events import PaymentEvent
from sunap.domain.payment import CHANGEABLE_AT_TOSS, Payment, PaymentStatus
from sunap.domain.subscription import Subscription, SubscriptionStatus


@dataclass(frozen=True)
class OutboxRecord:
    """One outbox row: the event and the payment as it was when the event was committed."""

    event: PaymentEvent
    payment: Payment


@dataclass
class InMemoryStore:
    payments: dict[str, Payment] = field(default_factory=dict)
    audit: list[AuditEntry] = field(default_factory=list)
    outbox: list[OutboxRecord] = field(default_factory=list)
    billing_keys: dict[str, BillingKey] = field(default_factory=dict)
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    billing_events: list[DomainEvent] = field(default_factory=list)  # keys' and subscriptions'
    commits: int = 0
    # When the next cancel of each payment may go to the PG (the SQL column next_cancel_at).
    next_cancel_at: dict[str, datetime] = field(default_factory=dict)
    locks: defaultdict[str, asyncio.Lock] = field(default_factory=lambda: defaultdict(asyncio.Lock))

    def payment(self, payment_id: str) -> Payment:
        """A copy of the committed payment, for assertions."""
        return copy.deepcopy(self.payments[payment_id])

    def by_order_id(self, tenant_id: str, order_id: str) -> Payment | None:
        found = next(
            (
                p
                for p in self.payments.values()
                if p.tenant_id == tenant_id and p.order_id == order_id
            ),
            None,
        )
        return copy.deepcopy(found)

    def events_of(self, payment_id: str) -> list[PaymentEvent]:
        return [r.event for r in self.outbox if r.event.payment_id == payment_id]

    def audit_of(self, payment_id: str) -> list[AuditEntry]:
        return [e for e in self.audit if e.payment_id == payment_id]


def _turn_after(
    turn: datetime | None, payment_id: str, writes: list[tuple[str, datetime | None, datetime]]
) -> datetime | None:
    for written_id, expected, value in writes:
        if written_id == payment_id and (expected is None or expected == turn):
            turn = value
    return turn


def _state(payment: Payment) -> dict[str, Any]:
    """What a save would write: everything but the version and the not-yet-written events."""
    fields = {f.name for f in dataclasses.fields(payment)} - {"version", "events"}
    return {name: copy.deepcopy(getattr(payment, name)) for name in fields}


class InMemoryPaymentRepository:
    def __init__(self, store: InMemoryStore, uow: InMemoryUnitOfWork) -> None:
        self._store = store
        self._uow = uow
        self.seen: dict[str, Payment] = {}  # identity map: one object per payment
        self.read_state: dict[str, dict[str, Any]] = {}
        self.fresh: set[str] = set()  # read in the current transaction
        self.added: list[Payment] = []
        # This transaction's writes of cancel turns, applied in order on commit: (payment id,
        # the value the write must find, None for any, the value it writes).
        self.turn_writes: list[tuple[str, datetime | None, datetime]] = []

    def add(self, payment: Payment) -> None:
        self.added.append(payment)

    def attach(self, payment: Payment) -> Payment:
        attached = copy.deepcopy(payment)
        attached.events = []
        self.seen[payment.id] = attached
        self.read_state[payment.id] = _state(attached)
        return attached

    async def get(
        self, tenant_id: str, payment_id: str, *, for_update: bool = False
    ) -> Payment | None:
        found = self._store.payments.get(payment_id)
        if found is None or found.tenant_id != tenant_id:
            return self._pending(lambda p: p.id == payment_id and p.tenant_id == tenant_id)
        return await self._hand_out(payment_id, for_update)

    async def get_by_order_id(
        self, tenant_id: str, order_id: str, *, for_update: bool = False
    ) -> Payment | None:
        found = self._store.by_order_id(tenant_id, order_id)
        if found is None:
            return self._pending(lambda p: p.order_id == order_id and p.tenant_id == tenant_id)
        return await self._hand_out(found.id, for_update)

    async def get_by_payment_key(
        self, pg_account_id: str, payment_key: str, *, for_update: bool = False
    ) -> Payment | None:
        def match(p: Payment) -> bool:
            return p.pg_account_id == pg_account_id and p.payment_key == payment_key

        found = next((p for p in self._store.payments.values() if match(p)), None)
        if found is None:
            return self._pending(match)
        return await self._hand_out(found.id, for_update)

    async def get_by_account_order(
        self, pg_account_id: str, order_id: str, *, for_update: bool = False
    ) -> Payment | None:
        def match(p: Payment) -> bool:
            return p.pg_account_id == pg_account_id and p.order_id == order_id

        found = next((p for p in self._store.payments.values() if match(p)), None)
        if found is None:
            return self._pending(match)
        return await self._hand_out(found.id, for_update)

    async def get_any_tenant(self, payment_id: str, *, for_update: bool = False) -> Payment | None:
        if payment_id not in self._store.payments:
            return self._pending(lambda p: p.id == payment_id)
        return await self._hand_out(payment_id, for_update)

    async def list(self, tenant_id: str, query: PaymentQuery) -> PaymentPage:
        matching = [
            p
            for p in self._store.payments.values()
            if p.tenant_id == tenant_id
            and (query.order_id is None or p.order_id == query.order_id)
            and (query.customer_key is None or p.customer_key == query.customer_key)
            and (query.status is None or p.status is query.status)
        ]
        matching.sort(key=lambda p: (p.created_at, p.id), reverse=True)  # newest first
        start = 0
        if query.cursor is not None:
            start = next(i for i, p in enumerate(matching) if p.id == query.cursor) + 1
        page = matching[start : start + query.limit]
        more = start + query.limit < len(matching)
        return PaymentPage(
            items=[copy.deepcopy(p) for p in page],
            next_cursor=page[-1].id if page and more else None,
        )

    async def due_for_reconcile(self, now: datetime, limit: int) -> builtins.list[str]:
        due = [
            p
            for p in self._store.payments.values()
            if p.next_reconcile_at is not None and p.next_reconcile_at <= now
        ]
        due.sort(key=lambda p: (p.next_reconcile_at or now, p.id))
        return [p.id for p in due[:limit]]

    async def ready_created_before(
        self,
        cutoff: datetime,
        limit: int,
        *,
        now: datetime,
        after: tuple[datetime, str] | None = None,
    ) -> builtins.list[tuple[datetime, str]]:
        due = sorted(
            (p.created_at, p.id)
            for p in self._store.payments.values()
            if p.status is PaymentStatus.READY
            and p.created_at <= cutoff
            and not p.needs_review
            and (p.expiry_recheck_at is None or p.expiry_recheck_at <= now)
        )
        return [key for key in due if after is None or key > after][:limit]

    async def changeable_at_toss_since(
        self, since: datetime, limit: int, *, after: tuple[datetime, str] | None = None
    ) -> builtins.list[tuple[datetime, str]]:
        found = sorted(
            (p.created_at, p.id)
            for p in self._store.payments.values()
            if p.status in CHANGEABLE_AT_TOSS and p.created_at >= since
        )
        return [key for key in found if after is None or key > after][:limit]

    async def lease_for_reconcile(
        self, payment_id: str, seen_at: datetime, until: datetime
    ) -> bool:
        # A conditional UPDATE in SQL: it takes effect at once, like a statement in autocommit.
        payment = self._store.payments.get(payment_id)
        if payment is None or payment.next_reconcile_at != seen_at:
            return False
        payment.next_reconcile_at = until
        return True

    async def claim_cancel_turn(
        self, tenant_id: str, payment_id: str, now: datetime, hold_until: datetime
    ) -> datetime | None:
        # A conditional UPDATE in SQL: it locks the row, and takes effect on commit.
        payment = self._store.payments.get(payment_id)
        if payment is None or payment.tenant_id != tenant_id:
            return None
        await self._uow.lock(payment_id)
        free_at = self.turn_of(payment_id)
        if free_at is not None and free_at > now:
            return free_at
        self.turn_writes.append((payment_id, None, hold_until))
        return None

    async def end_cancel_turn(
        self, tenant_id: str, payment_id: str, held_until: datetime, next_at: datetime
    ) -> None:
        await self._uow.lock(payment_id)
        self.turn_writes.append((payment_id, held_until, next_at))

    def turn_of(self, payment_id: str) -> datetime | None:
        """The payment's turn as this transaction sees it: committed, then its own writes."""
        return _turn_after(self._store.next_cancel_at.get(payment_id), payment_id, self.turn_writes)

    async def _hand_out(self, payment_id: str, for_update: bool) -> Payment:
        if for_update:
            await self._uow.lock(payment_id)
        if payment_id not in self.fresh:
            # First read in this transaction (or the lock made us wait): load what is committed.
            self.reload(payment_id)
            self.fresh.add(payment_id)
        return self.seen[payment_id]

    def reload(self, payment_id: str) -> None:
        committed = self._store.payments[payment_id]
        if payment_id in self.seen:  # keep the object's identity, as a session refresh does
            target = self.seen[payment_id]
            for f in dataclasses.fields(committed):
                setattr(target, f.name, copy.deepcopy(getattr(committed, f.name)))
        else:
            self.seen[payment_id] = copy.deepcopy(committed)
        self.read_state[payment_id] = _state(committed)

    def _pending(self, matches: Callable[[Payment], bool]) -> Payment | None:
        # A transaction sees its own inserts.
        return next((p for p in self.added if matches(p)), None)


class InMemoryBillingRepositories:
    """Billing keys and subscriptions, kept simply: handed-out copies written back on commit
    (no version check; the payment fakes above are the ones unit tests lean on)."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self.keys: dict[str, BillingKey] = {}
        self.subs: dict[str, Subscription] = {}

    def write(self) -> None:
        for key in self.keys.values():
            self._store.billing_events.extend(key.events)
            key.events.clear()
            self._store.billing_keys[key.id] = copy.deepcopy(key)
        for sub in self.subs.values():
            self._store.billing_events.extend(sub.events)
            sub.events.clear()
            self._store.subscriptions[sub.id] = copy.deepcopy(sub)

    def forget(self) -> None:
        self.keys.clear()
        self.subs.clear()


class InMemoryBillingKeyRepository:
    def __init__(self, repos: InMemoryBillingRepositories, store: InMemoryStore) -> None:
        self._repos, self._store = repos, store

    def add(self, key: BillingKey) -> None:
        self._repos.keys[key.id] = key

    async def get(
        self, tenant_id: str, key_id: str, *, for_update: bool = False
    ) -> BillingKey | None:
        found = await self.get_any_tenant(key_id)
        return found if found is not None and found.tenant_id == tenant_id else None

    async def get_any_tenant(self, key_id: str, *, for_update: bool = False) -> BillingKey | None:
        if key_id in self._repos.keys:
            return self._repos.keys[key_id]
        if key_id not in self._store.billing_keys:
            return None
        self._repos.keys[key_id] = copy.deepcopy(self._store.billing_keys[key_id])
        return self._repos.keys[key_id]

    async def get_by_digest(
        self, pg_account_id: str, digest: str, *, for_update: bool = False
    ) -> BillingKey | None:
        for key in self._store.billing_keys.values():
            if key.pg_account_id == pg_account_id and key.credential_digest == digest:
                return await self.get_any_tenant(key.id)
        return None

    async def list(self, tenant_id: str, query: BillingQuery) -> BillingKeyPage:
        items = [k for k in self._store.billing_keys.values() if k.tenant_id == tenant_id]
        return BillingKeyPage(items=[copy.deepcopy(k) for k in items], next_cursor=None)


class InMemorySubscriptionRepository:
    def __init__(self, repos: InMemoryBillingRepositories, store: InMemoryStore) -> None:
        self._repos, self._store = repos, store

    def add(self, sub: Subscription) -> None:
        self._repos.subs[sub.id] = sub

    async def get(
        self, tenant_id: str, subscription_id: str, *, for_update: bool = False
    ) -> Subscription | None:
        found = await self.get_any_tenant(subscription_id)
        return found if found is not None and found.tenant_id == tenant_id else None

    async def get_any_tenant(
        self, subscription_id: str, *, for_update: bool = False
    ) -> Subscription | None:
        if subscription_id in self._repos.subs:
            return self._repos.subs[subscription_id]
        if subscription_id not in self._store.subscriptions:
            return None
        self._repos.subs[subscription_id] = copy.deepcopy(
            self._store.subscriptions[subscription_id]
        )
        return self._repos.subs[subscription_id]

    async def list(self, tenant_id: str, query: BillingQuery) -> SubscriptionPage:
        items = [s for s in self._store.subscriptions.values() if s.tenant_id == tenant_id]
        return SubscriptionPage(items=[copy.deepcopy(s) for s in items], next_cursor=None)

    async def live_on_billing_key(self, billing_key_id: str) -> builtins.list[str]:
        return [
            s.id
            for s in self._store.subscriptions.values()
            if s.billing_key_id == billing_key_id and s.status is not SubscriptionStatus.CANCELED
        ]

    async def due(
        self, now: datetime, limit: int, after: DueSubscription | None = None
    ) -> builtins.list[DueSubscription]:
        def place(d: DueSubscription) -> tuple[datetime, str]:
            return d.next_charge_at, d.id

        due = sorted(
            (
                DueSubscription(s.id, s.next_charge_at)
                for s in self._store.subscriptions.values()
                if s.next_charge_at is not None
                and s.next_charge_at <= now
                and s.charging_payment_id is None
            ),
            key=place,
        )
        return [d for d in due if after is None or place(d) > place(after)][:limit]

    async def charging(self, limit: int) -> builtins.list[tuple[str, str]]:
        return [
            (s.id, s.charging_payment_id)
            for s in self._store.subscriptions.values()
            if s.charging_payment_id is not None
        ][:limit]

    async def count_by_status(self) -> dict[SubscriptionStatus, int]:
        counts = dict.fromkeys(SubscriptionStatus, 0)
        for s in self._store.subscriptions.values():
            counts[s.status] += 1
        return counts


class InMemoryAuditLog:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self.pending: list[AuditEntry] = []

    def add(self, entry: AuditEntry) -> None:
        self.pending.append(entry)

    async def list_for_payment(self, tenant_id: str, payment_id: str) -> list[AuditEntry]:
        return [
            e
            for e in [*self._store.audit, *self.pending]
            if e.tenant_id == tenant_id and e.payment_id == payment_id
        ]


class InMemoryUnitOfWork:
    def __init__(
        self,
        store: InMemoryStore,
        on_commit: Callable[[list[Payment]], None] | None = None,
        *,
        reads_optimistically: bool = False,
    ) -> None:
        self.store = store
        self._on_commit = on_commit
        self.reads_optimistically = reads_optimistically
        # Typed as the ports say, so the fake is a UnitOfWork and not just look-alike.
        self._repo = InMemoryPaymentRepository(store, self)
        self._audit = InMemoryAuditLog(store)
        self.payments: PaymentRepository = self._repo
        self.audit: AuditLog = self._audit
        self._billing = InMemoryBillingRepositories(store)
        self.billing_keys: BillingKeyRepository = InMemoryBillingKeyRepository(self._billing, store)
        self.subscriptions: SubscriptionRepository = InMemorySubscriptionRepository(
            self._billing, store
        )
        self.commits = 0
        self._held: list[str] = []

    async def __aenter__(self) -> InMemoryUnitOfWork:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.rollback()

    async def lock(self, payment_id: str) -> None:
        if payment_id not in self._held:
            await self.store.locks[payment_id].acquire()
            self._held.append(payment_id)

    async def commit(self) -> None:
        try:
            self._check()
        except BaseException:
            await self.rollback()
            raise
        self._write()
        self._end()

    async def rollback(self) -> None:
        repo = self._repo
        repo.added.clear()
        repo.turn_writes.clear()
        self._audit.pending.clear()
        self._billing.forget()
        for payment_id in repo.seen:  # forget uncommitted changes, as an expired session does
            repo.reload(payment_id)
        self._end()

    def _check(self) -> None:
        for payment in self._changed():
            committed = self.store.payments[payment.id]
            if committed.version != payment.version:
                raise StaleAggregate(f"payment {payment.id} changed since it was read")
        claimed: set[tuple[str, str, str]] = set()
        for payment in self._repo.added:
            orders = {("tenant", payment.tenant_id), ("account", payment.pg_account_id)}
            held = {
                (scope, owner)
                for p in self.store.payments.values()
                if p.order_id == payment.order_id
                for scope, owner in (("tenant", p.tenant_id), ("account", p.pg_account_id))
            }
            mine = {(s, o, payment.order_id) for s, o in orders}
            if mine & claimed or orders & held:
                raise DuplicateOrderId(f"orderId {payment.order_id} is already used.")
            if payment.id in self.store.payments:
                raise StaleAggregate(f"payment {payment.id} already exists")
            claimed |= mine
        for payment in self._changed():
            if payment.payment_key is None:
                continue
            if any(
                p.id != payment.id
                and p.pg_account_id == payment.pg_account_id
                and p.payment_key == payment.payment_key
                for p in self.store.payments.values()
            ):
                raise PaymentKeyTaken("This paymentKey belongs to another payment.")

    def _write(self) -> None:
        repo = self._repo
        written = [*self._changed(), *repo.added]
        for payment in written:
            payment.version += 1
            snapshot = copy.deepcopy(payment)
            snapshot.events = []
            self.store.payments[payment.id] = snapshot
            # The outbox keeps its own copy: later writes must not rewrite what was published.
            self.store.outbox.extend(
                OutboxRecord(e, copy.deepcopy(snapshot)) for e in payment.events
            )
            payment.events.clear()
            repo.seen[payment.id] = payment
            repo.read_state[payment.id] = _state(payment)
        repo.added.clear()
        for payment_id in {write[0] for write in repo.turn_writes}:
            turn = repo.turn_of(payment_id)
            if turn is not None:
                self.store.next_cancel_at[payment_id] = turn
        repo.turn_writes.clear()
        self._billing.write()
        self.store.audit.extend(self._audit.pending)
        self._audit.pending.clear()
        self.store.commits += 1
        self.commits += 1
        if self._on_commit is not None and written:
            self._on_commit(written)

    def _changed(self) -> list[Payment]:
        repo = self._repo
        return [p for pid, p in repo.seen.items() if p.events or _state(p) != repo.read_state[pid]]

    def _end(self) -> None:
        # The transaction is over: locks go, and the next read sees what is committed by then.
        for payment_id in self._held:
            self.store.locks[payment_id].release()
        self._held.clear()
        self._repo.fresh.clear()


class InMemoryUnitOfWorkFactory:
    """`UnitOfWorkFactory`: every call is a new transaction on the same store. `on_commit` is
    told of the payments each commit wrote, as the SQL unit of work's post-commit hook is."""

    def __init__(
        self,
        store: InMemoryStore | None = None,
        on_commit: Callable[[list[Payment]], None] | None = None,
        *,
        reads_optimistically: bool = False,
    ) -> None:
        self.store = store or InMemoryStore()
        self.on_commit = on_commit
        self.reads_optimistically = reads_optimistically
        self.created: list[InMemoryUnitOfWork] = []

    def __call__(self) -> InMemoryUnitOfWork:
        uow = InMemoryUnitOfWork(
            self.store, self.on_commit, reads_optimistically=self.reads_optimistically
        )
        self.created.append(uow)
        return uow
