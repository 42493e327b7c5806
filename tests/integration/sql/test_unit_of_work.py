"""SqlUnitOfWork on real databases: payments round-trip, stale writes are refused, and every event
lands in the outbox in the same transaction as the change."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from datetime import timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.sql.api_keys import SqlApiKeyStore
from sunap.adapters.sql.direct import _Asyncpg
from sunap.adapters.sql.tables import audit_entries, tenants
from sunap.adapters.sql.unit_of_work import sql_unit_of_work_factory
from sunap.application.audit_kinds import AuditStatus, AuditType, pg_call_type
from sunap.application.errors import StaleAggregate
from sunap.application.ports.audit import AuditEntry
from sunap.application.ports.gateway import PgOperation, PgOutcome
from sunap.application.ports.unit_of_work import UnitOfWorkFactory
from sunap.domain.errors import DuplicateOrderId, PaymentKeyTaken
from sunap.domain.payment import (
    Approval,
    CardDetails,
    EasyPayDetails,
    Failure,
    Payment,
    PaymentMethod,
    PaymentStatus,
    VirtualAccountDetails,
)
from tests.integration.sql.payments_factory import T0, envelope, later, new_payment, outbox_rows
from tests.support.databases import unique

KST = timezone(timedelta(hours=9))


@pytest.fixture
def uow(engine: AsyncEngine) -> UnitOfWorkFactory:
    return sql_unit_of_work_factory(engine, envelope)


def fields(payment: Payment) -> dict[str, Any]:
    values = dataclasses.asdict(payment)
    values.pop("events")
    return values


async def save_new(uow: UnitOfWorkFactory, payment: Payment) -> None:
    async with uow() as tx:
        tx.payments.add(payment)
        await tx.commit()


async def test_a_payment_round_trips_with_its_cancels_card_and_virtual_account_details(
    uow: UnitOfWorkFactory,
) -> None:
    tenant = unique("tnt")
    payment = new_payment(tenant, amount=50000, customer_key="cust-1")
    await save_new(uow, payment)

    async with uow() as tx:
        loaded = await tx.payments.get(tenant, payment.id, for_update=True)
        assert loaded is not None
        loaded.begin_confirm(payment_key="tpk_1", amount=50000, idempotency_key="k1", now=later(1))
        loaded.approve(
            Approval(
                payment_key="tpk_1",
                status=PaymentStatus.DONE,
                method=PaymentMethod.CARD,
                approved_at=later(2).astimezone(KST),  # stored as the same instant in UTC
                card=CardDetails("SHINHAN", "4330****1234", "CREDIT", "PERSONAL", 0, "00001"),
                virtual_account=VirtualAccountDetails("KB", "123-456", "Kim", "2026-03-08"),
                easy_pay=EasyPayDetails("TOSSPAY", 49000, 1000),
                receipt_url="https://receipt.example/1",
            ),
            now=later(2),
        )
        first = loaded.begin_cancel(
            cancel_id=unique("cnl"),
            reason="one item out of stock",
            amount=20000,
            idempotency_key="c1",
            has_refund_account=False,
            now=later(3),
        )
        second = loaded.begin_cancel(
            cancel_id=unique("cnl"),
            reason="changed mind",
            amount=5000,
            idempotency_key="c2",
            has_refund_account=False,
            now=later(4),
        )
        assert first is not None and second is not None
        loaded.complete_cancel(first.id, transaction_key="tx1", canceled_at=later(5), now=later(5))
        loaded.fail_cancel(second.id, Failure("REJECT", "refused"), now=later(6))
        loaded.flag_for_review("amounts disagree", now=later(7))
        await tx.commit()
        expected = fields(loaded)

    async with uow() as tx:
        again = await tx.payments.get(tenant, payment.id)
    assert again is not None
    assert fields(again) == expected
    assert again.approved_at == later(2)
    assert again.approved_at.tzinfo is not None and again.approved_at.utcoffset() == timedelta(0)
    assert again.balance_amount == 30000 and again.status is PaymentStatus.PARTIAL_CANCELED
    assert [c.status.value for c in again.cancels] == ["DONE", "FAILED"]
    assert again.version == 1  # inserted at 0, saved once since


async def test_a_payment_is_found_by_order_id_payment_key_and_id_across_tenants(
    uow: UnitOfWorkFactory,
) -> None:
    tenant = unique("tnt")
    payment = new_payment(tenant)
    payment.begin_confirm(payment_key=unique("tpk"), amount=15000, idempotency_key="k", now=T0)
    await save_new(uow, payment)

    async with uow() as tx:
        by_order = await tx.payments.get_by_order_id(tenant, payment.order_id)
        account = payment.pg_account_id
        by_key = await tx.payments.get_by_payment_key(account, payment.payment_key or "")
        by_account_order = await tx.payments.get_by_account_order(account, payment.order_id)
        other_account = await tx.payments.get_by_payment_key(
            unique("acct"), payment.payment_key or ""
        )
        by_id = await tx.payments.get_any_tenant(payment.id, for_update=True)
        other_tenant = await tx.payments.get(unique("tnt"), payment.id)
        other_tenant_order = await tx.payments.get_by_order_id(unique("tnt"), payment.order_id)
    assert by_order is not None and by_order is by_key is by_id is by_account_order
    assert other_tenant is None and other_tenant_order is None and other_account is None


async def test_commit_writes_exactly_one_outbox_row_per_event_with_debezium_columns(
    uow: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    payment = new_payment(unique("tnt"))
    await save_new(uow, payment)
    async with uow() as tx:
        loaded = await tx.payments.get_any_tenant(payment.id)
        assert loaded is not None
        loaded.begin_confirm(payment_key="tpk", amount=15000, idempotency_key="k", now=later(1))
        loaded.approve(
            Approval("tpk", PaymentStatus.DONE, PaymentMethod.CARD, approved_at=later(2)), later(2)
        )
        await tx.commit()
        assert loaded.events == []

    rows = await outbox_rows(engine, payment.id)
    assert [(r["aggregatetype"], r["aggregateid"], r["type"]) for r in rows] == [
        ("payment", payment.id, "payment.created"),
        ("payment", payment.id, "payment.completed"),
    ]
    assert [r["payload"]["sequence"] for r in rows] == [1, 2]
    assert all(r["id"] == r["payload"]["id"] and r["published_at"] is None for r in rows)
    assert rows[1]["payload"]["data"] == {"status": "DONE", "balanceAmount": 15000}


async def test_events_name_their_tenant_as_its_keys_were_made_for_it_read_once(
    uow: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    """A consumer routes an event by the name `keys create --tenant` was given (the one the
    order intake takes); the internal id is shown nowhere. A name never changes: it is read
    once per tenant and process, so the rename below (which Sunap never does) goes unseen."""
    name = unique("shop")
    tenant_id = await SqlApiKeyStore(engine).ensure_tenant(name, unique("ten"))
    first, second = new_payment(tenant_id), new_payment(tenant_id)
    await save_new(uow, first)
    async with engine.begin() as conn:
        await conn.execute(update(tenants).where(tenants.c.id == tenant_id).values(name="renamed"))
    await save_new(uow, second)
    no_row = new_payment(unique("tnt"))  # a tenant id no `keys create` made
    await save_new(uow, no_row)

    assert (await outbox_rows(engine, first.id))[0]["payload"]["tenant"] == name
    assert (await outbox_rows(engine, second.id))[0]["payload"]["tenant"] == name
    assert (await outbox_rows(engine, no_row.id))[0]["payload"]["tenant"] == no_row.tenant_id


async def test_leaving_without_commit_writes_neither_the_payment_nor_an_outbox_row(
    uow: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    tenant = unique("tnt")
    payment = new_payment(tenant)
    async with uow() as tx:
        tx.payments.add(payment)
        tx.audit.add(audit_entry(tenant, payment.id, "payment.created"))

    async with uow() as tx:
        assert await tx.payments.get(tenant, payment.id) is None
        assert await tx.audit.list_for_payment(tenant, payment.id) == []
    assert await outbox_rows(engine, payment.id) == []


async def test_an_explicit_rollback_discards_the_changes(
    uow: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    tenant = unique("tnt")
    payment = new_payment(tenant)
    await save_new(uow, payment)
    async with uow() as tx:
        loaded = await tx.payments.get(tenant, payment.id)
        assert loaded is not None
        loaded.expire(later(1))
        await tx.rollback()
        await tx.commit()  # nothing left to save

    async with uow() as tx:
        again = await tx.payments.get(tenant, payment.id)
    assert again is not None and again.status is PaymentStatus.READY
    assert [r["type"] for r in await outbox_rows(engine, payment.id)] == ["payment.created"]


async def test_a_stale_write_raises_concurrency_conflict_and_saves_nothing(
    backend: str, uow: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    tenant = unique("tnt")
    payment = new_payment(tenant)
    await save_new(uow, payment)
    second_has_read, first_committed = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with uow() as tx:
            mine = await tx.payments.get(tenant, payment.id)
            assert mine is not None
            await second_has_read.wait()
            mine.expire(later(1))
            await tx.commit()
            first_committed.set()

    async def second() -> None:
        async with uow() as tx:
            theirs = await tx.payments.get(tenant, payment.id)
            assert theirs is not None
            second_has_read.set()
            await first_committed.wait()
            theirs.flag_for_review("looked odd", later(2))
            await tx.commit()

    if backend == "sqlite":
        # BEGIN IMMEDIATE: the second unit of work cannot even read before the first commits,
        # so it never holds a stale copy. (Its read would wait; here the first simply goes first.)
        second_has_read.set()
        await first()
        await second()
        expected_version, expected_review = 2, True
    else:
        results = await asyncio.gather(first(), second(), return_exceptions=True)
        assert results[0] is None and isinstance(results[1], StaleAggregate)
        expected_version, expected_review = 1, False

    async with uow() as tx:
        again = await tx.payments.get(tenant, payment.id)
    assert again is not None and again.status is PaymentStatus.EXPIRED
    assert again.version == expected_version and again.needs_review is expected_review
    assert [r["type"] for r in await outbox_rows(engine, payment.id)] == [
        "payment.created",
        "payment.expired",
    ]


async def test_a_second_payment_for_one_order_id_raises_duplicate_order_id(
    uow: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    tenant = unique("tnt")
    first = new_payment(tenant)
    await save_new(uow, first)
    second = new_payment(tenant, order_id=first.order_id)

    with pytest.raises(DuplicateOrderId):
        await save_new(uow, second)
    assert await outbox_rows(engine, second.id) == []
    # Another tenant on the same PG account: the PG holds one payment per orderId.
    shared = new_payment(unique("tnt"), order_id=first.order_id, pg_account_id=first.pg_account_id)
    with pytest.raises(DuplicateOrderId) as refused:
        await save_new(uow, shared)
    assert tenant not in refused.value.message  # who holds it is nobody else's business
    # Another tenant on its own account: another order.
    await save_new(uow, new_payment(unique("tnt"), order_id=first.order_id))


async def test_a_payment_key_held_by_another_payment_of_the_account_cannot_be_claimed(
    uow: UnitOfWorkFactory,
) -> None:
    holder = new_payment(unique("tnt"))
    key = unique("tpk")
    holder.begin_confirm(payment_key=key, amount=15000, idempotency_key="k1", now=T0)
    await save_new(uow, holder)
    same_account = new_payment(unique("tnt"), pg_account_id=holder.pg_account_id)
    other_account = new_payment(unique("tnt"))
    await save_new(uow, same_account)
    await save_new(uow, other_account)

    async with uow() as tx:
        loaded = await tx.payments.get_any_tenant(same_account.id, for_update=True)
        assert loaded is not None
        loaded.begin_confirm(payment_key=key, amount=15000, idempotency_key="k2", now=T0)
        with pytest.raises(PaymentKeyTaken):
            await tx.commit()
    async with uow() as tx:
        loaded = await tx.payments.get_any_tenant(other_account.id, for_update=True)
        assert loaded is not None
        loaded.begin_confirm(payment_key=key, amount=15000, idempotency_key="k3", now=T0)
        await tx.commit()  # payment keys are unique per account, like orderIds


async def test_locked_reads_serialize_concurrent_writers_of_one_payment(
    uow: UnitOfWorkFactory,
) -> None:
    tenant = unique("tnt")
    payment = new_payment(tenant, amount=10000)
    payment.begin_confirm(payment_key="tpk", amount=10000, idempotency_key="k", now=T0)
    payment.approve(Approval("tpk", PaymentStatus.DONE, PaymentMethod.CARD, T0), T0)
    await save_new(uow, payment)

    async def cancel_1000(n: int) -> None:
        async with uow() as tx:
            loaded = await tx.payments.get(tenant, payment.id, for_update=True)
            assert loaded is not None
            loaded.begin_cancel(
                cancel_id=f"{payment.id}-{n}",
                reason="partial",
                amount=1000,
                idempotency_key=f"k{n}",
                has_refund_account=False,
                now=later(n),
            )
            await tx.commit()

    await asyncio.gather(*(cancel_1000(n) for n in range(5)))

    async with uow() as tx:
        again = await tx.payments.get(tenant, payment.id)
    assert again is not None
    assert again.pending_cancel_amount == 5000 and len(again.cancels) == 5
    assert again.version == 5


async def test_concurrent_writers_never_fail_with_database_is_locked(
    uow: UnitOfWorkFactory,
) -> None:
    tenant = unique("tnt")
    payments = [new_payment(tenant, created_at=later(n)) for n in range(20)]
    await asyncio.gather(*(save_new(uow, p) for p in payments))

    async with uow() as tx:
        for p in payments:
            assert await tx.payments.get(tenant, p.id) is not None


def audit_entry(tenant: str, payment_id: str, type_: str, n: int = 0) -> AuditEntry:
    return AuditEntry(
        id=unique("aud"),
        tenant_id=tenant,
        payment_id=payment_id,
        type=type_,
        status="ok",
        request_data={"amount": 15000, "n": n},
        response_data=None,
        processing_time_ms=12,
        created_at=later(n),
    )


async def test_audit_entries_are_listed_oldest_first_for_their_tenant_only(
    uow: UnitOfWorkFactory,
) -> None:
    tenant = unique("tnt")
    payment = new_payment(tenant)
    entries = [audit_entry(tenant, payment.id, t, n) for n, t in enumerate(["a", "b", "c"])]
    async with uow() as tx:
        tx.payments.add(payment)
        for entry in entries:
            tx.audit.add(entry)
        await tx.commit()

    async with uow() as tx:
        assert await tx.audit.list_for_payment(tenant, payment.id) == entries
        assert await tx.audit.list_for_payment(unique("tnt"), payment.id) == []


async def test_audit_kinds_are_stored_as_their_strings_and_any_stored_one_reads_back(
    uow: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    """Members are written as their values. A row an older version wrote, with a type or status
    this version has no member for, is read back as stored: the trail never fails to list."""
    tenant = unique("tnt")
    payment = new_payment(tenant)
    claimed = audit_entry(tenant, payment.id, AuditType.CONFIRM_CLAIMED, 1)
    declined = dataclasses.replace(
        audit_entry(tenant, payment.id, pg_call_type(PgOperation.CONFIRM), 2),
        status=AuditStatus.of(PgOutcome.DECLINED),
    )
    async with uow() as tx:
        tx.payments.add(payment)
        tx.audit.add(claimed)
        await tx.commit()
    async with uow() as tx:  # on PostgreSQL this row rides on the payment's update
        loaded = await tx.payments.get(tenant, payment.id, for_update=True)
        assert loaded is not None
        tx.audit.add(declined)
        loaded.flag_for_review("looked odd", later(2))
        await tx.commit()
    async with engine.begin() as conn:
        old = dict(tenant_id=tenant, payment_id=payment.id, created_at=later(3))
        await conn.execute(
            insert(audit_entries).values(id=unique("aud"), type="confirm", status="SUCCESS", **old)
        )
        stored = await conn.execute(
            select(audit_entries.c.type, audit_entries.c.status)
            .where(audit_entries.c.payment_id == payment.id)
            .order_by(audit_entries.c.seq)
        )
        rows = [tuple(row) for row in stored]
    expected = [("confirm.claimed", "ok"), ("pg.confirm", "declined"), ("confirm", "SUCCESS")]
    assert rows == expected

    async with uow() as tx:
        read = await tx.audit.list_for_payment(tenant, payment.id)
    assert [(entry.type, entry.status) for entry in read] == expected
    assert read[0].type is AuditType.CONFIRM_CLAIMED and read[1].status is AuditStatus.DECLINED
    assert type(read[2].type) is str and type(read[2].status) is str


async def test_only_one_worker_wins_the_reconcile_lease(uow: UnitOfWorkFactory) -> None:
    tenant = unique("tnt")
    due, not_yet = new_payment(tenant), new_payment(tenant)
    due.schedule_reconcile(later(-7200), attempts=1)
    not_yet.schedule_reconcile(later(3600))
    await save_new(uow, due)
    await save_new(uow, not_yet)

    async with uow() as tx:
        ids = await tx.payments.due_for_reconcile(later(0), limit=1000)
    assert due.id in ids and not_yet.id not in ids

    async def lease() -> bool:
        async with uow() as tx:
            won = await tx.payments.lease_for_reconcile(due.id, later(-7200), later(60))
            await tx.commit()
            return won

    assert sorted(await asyncio.gather(lease(), lease())) == [False, True]
    async with uow() as tx:
        again = await tx.payments.get(tenant, due.id)
    assert again is not None and again.next_reconcile_at == later(60)


def reserve_partial_cancel(payment: Payment, n: int, amount: int) -> None:
    """Cancel `{payment.id}-{n}` of `amount`, reserved (PENDING) at later(n)."""
    payment.begin_cancel(
        cancel_id=f"{payment.id}-{n}",
        reason="partial",
        amount=amount,
        idempotency_key=f"c{n}",
        has_refund_account=False,
        now=later(n),
    )


async def read_locked_while_held(
    uow: UnitOfWorkFactory, tenant: str, payment_id: str, change: Callable[[Payment], None]
) -> Payment:
    """What a locked read returns when it had to wait for a holder that made `change` and
    committed it."""
    holder_has_lock = asyncio.Event()
    release_holder = asyncio.Event()

    async def holder() -> None:
        async with uow() as tx:
            loaded = await tx.payments.get(tenant, payment_id, for_update=True)
            assert loaded is not None
            holder_has_lock.set()
            change(loaded)
            await release_holder.wait()
            await tx.commit()

    async def waiter() -> Payment:
        await holder_has_lock.wait()
        async with uow() as tx:
            loaded = await tx.payments.get(tenant, payment_id, for_update=True)
            assert loaded is not None
            return loaded

    holding = asyncio.create_task(holder())
    waiting = asyncio.create_task(waiter())
    await holder_has_lock.wait()
    await asyncio.sleep(0.5)  # the waiter is now blocked on the lock (or, on SQLite, the file)
    release_holder.set()
    await holding
    return await waiting


async def test_a_locked_read_that_waited_sees_the_cancels_the_lock_holder_committed(
    uow: UnitOfWorkFactory,
) -> None:
    """A reader that waits for the payment's lock must see the payment's cancels as the holder
    left them, not as they were when the reader began: on PostgreSQL a row re-checked after the
    wait comes back new while the rows joined to it stayed old, and completing a cancel already
    completed drove pending_cancel_amount below zero (a 500 found by the money soak)."""
    tenant = unique("tnt")
    payment = new_payment(tenant, amount=10000)
    payment.begin_confirm(payment_key="tpk", amount=10000, idempotency_key="k", now=T0)
    payment.approve(Approval("tpk", PaymentStatus.DONE, PaymentMethod.CARD, T0), T0)
    reserve_partial_cancel(payment, 1, 4000)
    await save_new(uow, payment)

    def complete_one_and_reserve_another(loaded: Payment) -> None:
        loaded.complete_cancel(
            f"{payment.id}-1", transaction_key="tx-1", canceled_at=later(2), now=later(2)
        )
        reserve_partial_cancel(loaded, 2, 1000)

    seen = await read_locked_while_held(uow, tenant, payment.id, complete_one_and_reserve_another)

    assert [(c.id, c.status.value) for c in seen.cancels] == [
        (f"{payment.id}-1", "DONE"),
        (f"{payment.id}-2", "PENDING"),
    ]
    assert seen.pending_cancel_amount == 1000
    assert seen.balance_amount == 6000
    assert seen.pending_cancels[0].amount == seen.pending_cancel_amount


async def test_a_locked_read_that_waited_on_an_approval_sees_the_approval_and_its_cancel(
    uow: UnitOfWorkFactory,
) -> None:
    """The reader began while the payment was IN_PROGRESS, a status that has no cancels (on
    PostgreSQL such a payment is read by its locked row alone); the holder approved it and
    reserved a cancel: the reader must see both, and the version they were written at."""
    tenant = unique("tnt")
    payment = new_payment(tenant, amount=10000)
    payment.begin_confirm(payment_key="tpk", amount=10000, idempotency_key="k", now=T0)
    await save_new(uow, payment)

    def approve_and_reserve_a_cancel(loaded: Payment) -> None:
        loaded.approve(Approval("tpk", PaymentStatus.DONE, PaymentMethod.CARD, later(1)), later(1))
        reserve_partial_cancel(loaded, 2, 3000)

    seen = await read_locked_while_held(uow, tenant, payment.id, approve_and_reserve_a_cancel)

    assert seen.status is PaymentStatus.DONE
    assert [(c.id, c.status.value, c.amount) for c in seen.cancels] == [
        (f"{payment.id}-2", "PENDING", 3000)
    ]
    assert seen.pending_cancel_amount == 3000
    async with uow() as tx:
        fresh = await tx.payments.get(tenant, payment.id)
    assert fresh is not None and seen.version == fresh.version


# Not SQLite: its writers take turns before they read, so none holds a stale copy.
@pytest.mark.parametrize("backend", ["postgresql", "mariadb"], indirect=True)
@pytest.mark.holds_two_connections
async def test_a_stale_write_with_an_audit_row_and_an_event_leaves_neither_behind(
    uow: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    """On PostgreSQL the audit row and the outbox row ride on the versioned update (one
    statement): the update finding another version must still leave no row of the loser."""
    tenant = unique("tnt")
    payment = new_payment(tenant)
    await save_new(uow, payment)
    async with uow() as tx:
        stale = await tx.payments.get(tenant, payment.id)
        assert stale is not None
        async with uow() as other:
            fresh = await other.payments.get(tenant, payment.id, for_update=True)
            assert fresh is not None
            fresh.flag_for_review("looked odd", later(1))
            await other.commit()
        tx.audit.add(audit_entry(tenant, payment.id, "expire", 2))
        stale.expire(later(2))
        with pytest.raises(StaleAggregate):
            await tx.commit()

    async with uow() as tx:
        assert await tx.audit.list_for_payment(tenant, payment.id) == []
    assert [r["type"] for r in await outbox_rows(engine, payment.id)] == ["payment.created"]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)  # the others send each row
async def test_on_postgresql_an_update_carries_its_audit_row_and_outbox_row_in_one_statement(
    uow: UnitOfWorkFactory, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = unique("tnt")
    payment = new_payment(tenant)
    await save_new(uow, payment)
    sent: list[str] = []
    for name in ("fetch", "execute"):
        original = getattr(_Asyncpg, name)

        async def spy(self: Any, sql: str, args: Any, _original: Any = original) -> Any:
            sent.append(sql)
            return await _original(self, sql, args)

        monkeypatch.setattr(_Asyncpg, name, spy)

    one, two = audit_entry(tenant, payment.id, "one", 1), audit_entry(tenant, payment.id, "two", 2)
    async with uow() as tx:
        loaded = await tx.payments.get(tenant, payment.id, for_update=True)
        assert loaded is not None
        tx.audit.add(one)
        loaded.expire(later(1))
        await tx.commit()
    async with uow() as tx:
        loaded = await tx.payments.get(tenant, payment.id, for_update=True)
        assert loaded is not None
        tx.audit.add(two)  # no event: the audit row alone rides
        loaded.flag_for_review("looked odd", later(2))
        await tx.commit()

    writes = [sql for sql in sent if not sql.lstrip().upper().startswith("SELECT")]
    assert len(writes) == 2, writes  # one statement per commit, each an update
    assert all("UPDATE payments SET " in sql for sql in writes)
    assert "INSERT INTO audit_entries" in writes[0] and "INSERT INTO outbox" in writes[0]
    assert "INSERT INTO audit_entries" in writes[1] and "INSERT INTO outbox" not in writes[1]
    async with uow() as tx:
        again = await tx.payments.get(tenant, payment.id)
        assert await tx.audit.list_for_payment(tenant, payment.id) == [one, two]
    assert again is not None and again.status is PaymentStatus.EXPIRED and again.needs_review

    # Two rows for one table never ride together: each is sent on its own, in order, first.
    sent.clear()
    three, four = (audit_entry(tenant, payment.id, t, n) for n, t in ((3, "three"), (4, "four")))
    async with uow() as tx:
        loaded = await tx.payments.get(tenant, payment.id, for_update=True)
        assert loaded is not None
        tx.audit.add(three)
        tx.audit.add(four)
        loaded.resolve_review("checked", later(3))
        await tx.commit()
    writes = [sql for sql in sent if not sql.lstrip().upper().startswith("SELECT")]
    assert [sql.split(" (")[0].strip() for sql in writes[:2]] == ["INSERT INTO audit_entries"] * 2
    assert len(writes) == 3 and writes[2].lstrip().startswith("UPDATE payments SET ")
    async with uow() as tx:
        assert await tx.audit.list_for_payment(tenant, payment.id) == [one, two, three, four]
    assert [r["type"] for r in await outbox_rows(engine, payment.id)] == [
        "payment.created",
        "payment.expired",
    ]


async def test_several_rows_for_one_table_are_sent_one_by_one_in_order(
    uow: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    """Rows of one table inserted by one statement get their `seq` in no promised order: two
    audit rows or two events never ride together, and keep the order they were added in."""
    tenant = unique("tnt")
    payment = new_payment(tenant)
    await save_new(uow, payment)
    entries = [audit_entry(tenant, payment.id, t, n) for n, t in enumerate(["a", "b", "c"])]
    async with uow() as tx:
        loaded = await tx.payments.get(tenant, payment.id, for_update=True)
        assert loaded is not None
        for entry in entries:
            tx.audit.add(entry)
        key = unique("tpk")
        loaded.begin_confirm(payment_key=key, amount=15000, idempotency_key="k", now=later(1))
        loaded.approve(
            Approval(
                key, PaymentStatus.WAITING_FOR_DEPOSIT, PaymentMethod.VIRTUAL_ACCOUNT, later(2)
            ),
            now=later(2),
        )
        loaded.record_deposit(later(3))
        events = [event.type for event in loaded.events]
        await tx.commit()

    async with uow() as tx:
        assert await tx.audit.list_for_payment(tenant, payment.id) == entries
    assert len(events) == 2
    assert [r["type"] for r in await outbox_rows(engine, payment.id)] == [
        "payment.created",
        *events,
    ]
