"""Reads without a row lock on PostgreSQL (application/optimism.py, adapters/sql/direct.py): a
unit of work that only reads sends no BEGIN and no COMMIT, a lone versioned write carrying its
audit and outbox rows commits alone in one statement, and a write refused because the payment
changed after its unlocked read leaves nothing behind and runs again with a locked read."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.crypto.fernet_box import FernetSecretBox, new_key
from sunap.adapters.sql.direct import DirectConnection
from sunap.adapters.sql.payments import _UPDATE_PAYMENT
from sunap.adapters.sql.tables import audit_entries, payments
from sunap.adapters.sql.unit_of_work import sql_unit_of_work_factory
from sunap.adapters.system import SystemClock
from sunap.application.audit_kinds import AuditStatus
from sunap.application.cancel_payment import cancel_payment
from sunap.application.cancel_turns import (
    CANCEL_SPACING,
    CANCEL_TURN_HOLD,
    end_turn_in,
    take_turn_in,
    try_turn,
)
from sunap.application.commands import CancelPayment, ConfirmPayment, CreatePayment
from sunap.application.confirm_payment import confirm_payment
from sunap.application.create_payment import create_payment
from sunap.application.deps import Deps
from sunap.application.errors import StaleAggregate
from sunap.application.optimism import lock_on_conflict
from sunap.application.ports.audit import AuditEntry
from sunap.application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from sunap.domain.errors import DuplicateOrderId
from sunap.domain.payment import CancelStatus, Payment, PaymentStatus
from tests.fakes.gateway import FakeGateway
from tests.integration.sql.payments_factory import envelope, later, new_payment, outbox_rows
from tests.integration.sql.test_unit_of_work import save_new
from tests.support.databases import unique
from tests.support.sql_deps import deps_on, shop_on_its_own_account

ONLY_POSTGRESQL = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


@pytest.fixture
def uow(engine: AsyncEngine) -> UnitOfWorkFactory:
    return sql_unit_of_work_factory(engine, envelope)


def audit_entry(tenant_id: str, payment_id: str, what: str) -> AuditEntry:
    return AuditEntry(
        id=unique("aud"),
        tenant_id=tenant_id,
        payment_id=payment_id,
        type=what,
        status=AuditStatus.OK,
        request_data=None,
        response_data=None,
        processing_time_ms=None,
        created_at=later(1),
    )


@ONLY_POSTGRESQL
async def test_a_unit_that_only_reads_sends_no_begin_and_no_commit(
    uow: UnitOfWorkFactory, sent: list[str]
) -> None:
    tenant = unique("tnt")
    payment = new_payment(tenant)
    await save_new(uow, payment)
    sent.clear()

    async with uow() as tx:
        assert tx.reads_optimistically
        assert await tx.payments.get(tenant, payment.id) is not None
        assert await tx.audit.list_for_payment(tenant, payment.id) == []
        await tx.commit()

    assert len(sent) == 2 and all(sql.startswith("SELECT") for sql in sent), sent


@ONLY_POSTGRESQL
async def test_a_read_then_a_write_carrying_its_rows_is_two_statements_and_no_transaction(
    uow: UnitOfWorkFactory, engine: AsyncEngine, sent: list[str]
) -> None:
    tenant = unique("tnt")
    payment = new_payment(tenant)
    await save_new(uow, payment)
    sent.clear()

    entry = audit_entry(tenant, payment.id, "expire")
    async with uow() as tx:
        loaded = await tx.payments.get(tenant, payment.id)
        assert loaded is not None
        tx.audit.add(entry)
        loaded.expire(later(2))
        await tx.commit()

    assert [sql.split()[0] for sql in sent] == ["SELECT", "WITH"], sent
    assert "INSERT INTO audit_entries" in sent[1] and "INSERT INTO outbox" in sent[1]
    async with uow() as tx:
        again = await tx.payments.get(tenant, payment.id)
        assert await tx.audit.list_for_payment(tenant, payment.id) == [entry]
    assert again is not None and again.status is PaymentStatus.EXPIRED and again.version == 1
    assert [r["type"] for r in await outbox_rows(engine, payment.id)] == [
        "payment.created",
        "payment.expired",
    ]


@ONLY_POSTGRESQL
@pytest.mark.holds_two_connections
async def test_a_lone_write_that_found_another_version_leaves_no_row_and_no_transaction(
    uow: UnitOfWorkFactory, engine: AsyncEngine, sent: list[str]
) -> None:
    tenant = unique("tnt")
    payment = new_payment(tenant)
    await save_new(uow, payment)
    async with uow() as tx:
        stale = await tx.payments.get(tenant, payment.id)
        assert stale is not None
        async with uow() as other:
            fresh = await other.payments.get(tenant, payment.id)
            assert fresh is not None
            fresh.flag_for_review("looked odd", later(1))
            await other.commit()
        sent.clear()
        tx.audit.add(audit_entry(tenant, payment.id, "expire"))
        stale.expire(later(2))
        with pytest.raises(Exception, match="changed since version 0"):
            await tx.commit()

    assert [sql.split()[0] for sql in sent] == ["WITH"], sent  # alone: nothing to roll back
    async with uow() as tx:
        assert await tx.audit.list_for_payment(tenant, payment.id) == []
        after = await tx.payments.get(tenant, payment.id)
    assert after is not None and after.status is PaymentStatus.READY and after.needs_review
    assert [r["type"] for r in await outbox_rows(engine, payment.id)] == ["payment.created"]


@ONLY_POSTGRESQL
async def test_a_statement_after_a_lone_write_is_refused_before_it_is_sent(
    engine: AsyncEngine,
) -> None:
    connection = await DirectConnection.open(engine)
    try:
        assert connection.write_alone()
        result = await connection.execute(
            _UPDATE_PAYMENT, {"status": "READY", "where_id": unique("pay"), "where_version": 1}
        )
        assert result.rowcount == 0
        with pytest.raises(RuntimeError, match="followed a write sent alone"):
            await connection.execute(_UPDATE_PAYMENT, {"where_id": "x", "where_version": 1})
    finally:
        await connection.close()


@pytest.mark.holds_two_connections
async def test_a_payment_changed_between_the_read_and_the_write_is_read_again_locked(
    engine: AsyncEngine, uow: UnitOfWorkFactory
) -> None:
    """On PostgreSQL the first run reads without a lock and its write is refused whole; the
    second reads locked. Elsewhere the only run reads locked (the change cannot come between)."""
    tenant = unique("tnt")
    payment = new_payment(tenant)
    await save_new(uow, payment)
    deps = deps_on(engine, FakeGateway(SystemClock()), FernetSecretBox([new_key().encode()]))
    runs: list[bool] = []

    async def expire_unless_flagged(tx: UnitOfWork, locked: bool) -> PaymentStatus:
        runs.append(locked)
        loaded = await tx.payments.get(tenant, payment.id, for_update=locked)
        assert loaded is not None
        if not locked:  # another process flags it after this read, before this write
            async with uow() as other:
                meanwhile = await other.payments.get(tenant, payment.id)
                assert meanwhile is not None
                meanwhile.flag_for_review("looked odd", later(1))
                await other.commit()
        tx.audit.add(audit_entry(tenant, payment.id, f"run-{len(runs)}"))
        if not loaded.needs_review:
            loaded.expire(later(2))
        await tx.commit()
        return loaded.status

    status = await lock_on_conflict(deps, expire_unless_flagged)

    optimistic = engine.dialect.name == "postgresql"
    assert runs == ([False, True] if optimistic else [True])
    assert status is PaymentStatus.READY if optimistic else PaymentStatus.EXPIRED
    async with uow() as tx:
        trail = [entry.type for entry in await tx.audit.list_for_payment(tenant, payment.id)]
    assert trail == (["run-2"] if optimistic else ["run-1"])


@ONLY_POSTGRESQL
async def test_a_confirm_sends_three_statements_and_no_begin_or_commit(
    engine: AsyncEngine, sent: list[str]
) -> None:
    """The claim: its read and its lone write; the verdict: its lone write, on the payment as
    the claim committed it. Eight round trips with locked reads (BEGIN, the locked read, the
    write, COMMIT, twice)."""
    toss = FakeGateway(SystemClock())
    deps = deps_on(engine, toss, FernetSecretBox([new_key().encode()]))
    tenant, order = unique("tnt"), unique("order")
    await create_payment(
        CreatePayment(tenant, "default", "Blue socks", 15000, order_id=order), deps
    )
    key = toss.pay_in_window(order, 15000)
    sent.clear()

    confirmed = await confirm_payment(ConfirmPayment(tenant, key, order, 15000), deps)

    assert confirmed.status is PaymentStatus.DONE
    assert [sql.split()[0] for sql in sent] == ["SELECT", "WITH", "WITH"], sent
    async with deps.uow() as tx:
        trail = [e.type for e in await tx.audit.list_for_payment(tenant, confirmed.id)]
    assert trail == ["payment.created", "confirm.claimed", "pg.confirm"]
    assert [r["type"] for r in await outbox_rows(engine, confirmed.id)] == [
        "payment.created",
        "payment.completed",
    ]


@ONLY_POSTGRESQL
async def test_a_new_payment_with_its_audit_row_and_event_is_one_statement(
    engine: AsyncEngine, sent: list[str]
) -> None:
    deps = deps_on(engine, FakeGateway(SystemClock()), FernetSecretBox([new_key().encode()]))
    tenant, order = unique("tnt"), unique("order")
    command = CreatePayment(tenant, "default", "Blue socks", 15000, order_id=order)
    # The tenant's first event reads its name (events carry it), once per process.
    await create_payment(dataclasses.replace(command, order_id=unique("order")), deps)
    assert [sql.split()[0] for sql in sent] == ["SELECT", "WITH"], sent
    sent.clear()

    created = await create_payment(command, deps)

    assert [sql.split()[0] for sql in sent] == ["WITH"], sent
    assert "INSERT INTO payments" in sent[0]
    async with deps.uow() as tx:
        trail = [e.type for e in await tx.audit.list_for_payment(tenant, created.id)]
    assert trail == ["payment.created"]
    assert [r["type"] for r in await outbox_rows(engine, created.id)] == ["payment.created"]
    sent.clear()
    with pytest.raises(DuplicateOrderId):  # refused whole: no audit row, no event of its own
        await create_payment(command, deps)
    assert [sql.split()[0] for sql in sent] == ["WITH"], sent
    async with engine.connect() as connection:
        rows = select(func.count()).where(audit_entries.c.tenant_id == tenant)
        assert await connection.scalar(rows) == 2  # the two payments' alone


async def paid_payment(engine: AsyncEngine) -> tuple[Deps, Payment]:
    """A card payment of 15,000 confirmed through the use cases, on a Toss account of its
    tenant's own (each test's fake Toss numbers its paymentKeys from 1)."""
    deps, toss, tenant = await shop_on_its_own_account(engine)
    order = unique("order")
    await create_payment(CreatePayment(tenant, tenant, "Blue socks", 15000, order_id=order), deps)
    key = toss.pay_in_window(order, 15000)
    return deps, await confirm_payment(ConfirmPayment(tenant, key, order, 15000), deps)


def reserve(payment: Payment, amount: int, now: datetime, *, cancel_id: str = "") -> str:
    """A cancel of `amount` reserved on the payment (no PG call): its id."""
    cancel = payment.begin_cancel(
        cancel_id=cancel_id or unique("cxl"),
        reason="Too big",
        amount=amount,
        idempotency_key=unique("key"),
        has_refund_account=False,
        now=now,
    )
    assert cancel is not None
    return cancel.id


async def turn_of(engine: AsyncEngine, payment_id: str) -> datetime | None:
    async with engine.connect() as connection:
        found: datetime | None = await connection.scalar(
            select(payments.c.next_cancel_at).where(payments.c.id == payment_id)
        )
    return found


@ONLY_POSTGRESQL
async def test_a_partial_cancel_sends_four_statements_and_no_begin_or_commit(
    engine: AsyncEngine, sent: list[str]
) -> None:
    """The reservation: its read and its lone write, which takes the cancel turn and inserts
    the cancel row; the answer: its read and its lone write, which frees the turn and updates
    the cancel row. Fourteen round trips with locked reads."""
    deps, paid = await paid_payment(engine)
    sent.clear()

    before = datetime.now(UTC)
    canceled = await cancel_payment(CancelPayment(paid.tenant_id, paid.id, "Too big", 5000), deps)

    assert [sql.split()[0] for sql in sent] == ["SELECT", "WITH", "SELECT", "WITH"], sent
    assert "INSERT INTO payment_cancels" in sent[1] and "UPDATE payment_cancels" in sent[3]
    assert canceled.status is PaymentStatus.PARTIAL_CANCELED
    assert (canceled.balance_amount, canceled.pending_cancel_amount) == (10000, 0)
    async with deps.uow() as tx:
        stored = await tx.payments.get(paid.tenant_id, paid.id)
        trail = [e.type for e in await tx.audit.list_for_payment(paid.tenant_id, paid.id)]
    assert stored is not None and stored.balance_amount == 10000
    assert [(c.amount, c.status) for c in stored.cancels] == [(5000, CancelStatus.DONE)]
    assert stored.cancels[0].transaction_key is not None
    assert trail[-2:] == ["cancel.requested", "pg.cancel"]
    assert [r["type"] for r in await outbox_rows(engine, paid.id)][-1] == (
        "payment.partially_canceled"
    )
    freed = await turn_of(engine, paid.id)  # a spacing after the answer, not the hold
    assert freed is not None and before + CANCEL_SPACING <= freed < before + CANCEL_TURN_HOLD


@ONLY_POSTGRESQL
@pytest.mark.holds_two_connections
async def test_a_turn_taken_after_the_unlocked_read_refuses_the_reservation_whole(
    engine: AsyncEngine, sent: list[str]
) -> None:
    deps, paid = await paid_payment(engine)
    tenant, now = paid.tenant_id, datetime.now(UTC)

    async with deps.uow() as tx:
        payment = await tx.payments.get(tenant, paid.id)
        assert payment is not None
        held, _ = await take_turn_in(tx, tenant, paid.id, now)  # free as read: nothing sent
        assert held is not None
        taken, others = await try_turn(tenant, paid.id, deps)  # another process, meanwhile
        assert taken
        reserve(payment, 5000, now)
        tx.audit.add(audit_entry(tenant, paid.id, "cancel.requested"))
        sent.clear()
        with pytest.raises(StaleAggregate, match="cancel turn was taken"):
            await tx.commit()

    assert [sql.split()[0] for sql in sent] == ["WITH"], sent  # alone: nothing to roll back
    async with deps.uow() as tx:
        after = await tx.payments.get(tenant, paid.id)
        trail = [e.type for e in await tx.audit.list_for_payment(tenant, paid.id)]
    assert after is not None and after.cancels == [] and after.pending_cancel_amount == 0
    assert "cancel.requested" not in trail
    assert await turn_of(engine, paid.id) == others  # the other's hold stands


@ONLY_POSTGRESQL
@pytest.mark.holds_two_connections
async def test_a_cancel_rows_update_riding_a_stale_write_changes_nothing(
    engine: AsyncEngine,
) -> None:
    deps, paid = await paid_payment(engine)
    tenant, now, cancel_id = paid.tenant_id, datetime.now(UTC), unique("cxl")
    async with deps.uow() as tx:
        payment = await tx.payments.get(tenant, paid.id)
        assert payment is not None
        reserve(payment, 5000, now, cancel_id=cancel_id)
        await tx.commit()

    async with deps.uow() as tx:
        stale = await tx.payments.get(tenant, paid.id)
        assert stale is not None
        async with deps.uow() as other:
            fresh = await other.payments.get(tenant, paid.id)
            assert fresh is not None
            fresh.flag_for_review("looked odd", now)
            await other.commit()
        stale.complete_cancel(cancel_id, transaction_key="tx-1", canceled_at=now, now=now)
        with pytest.raises(StaleAggregate):
            await tx.commit()

    async with deps.uow() as tx:
        after = await tx.payments.get(tenant, paid.id)
    assert after is not None and after.balance_amount == 15000
    assert [(c.status, c.transaction_key) for c in after.cancels] == [(CancelStatus.PENDING, None)]


@ONLY_POSTGRESQL
async def test_freeing_a_turn_with_the_payments_write_leaves_another_hold_as_it_is(
    engine: AsyncEngine,
) -> None:
    deps, paid = await paid_payment(engine)
    tenant, now = paid.tenant_id, datetime.now(UTC)
    _, others = await try_turn(tenant, paid.id, deps)  # ours expired; another holds it now
    assert others is not None

    async with deps.uow() as tx:
        payment = await tx.payments.get(tenant, paid.id)
        assert payment is not None
        await end_turn_in(tx, tenant, paid.id, now - timedelta(seconds=30), deps, sent=True)
        payment.flag_for_review("looked odd", now)
        await tx.commit()
    assert await turn_of(engine, paid.id) == others

    async with deps.uow() as tx:  # the holder frees it with its write
        payment = await tx.payments.get(tenant, paid.id)
        assert payment is not None
        await end_turn_in(tx, tenant, paid.id, others, deps, sent=False)
        payment.schedule_reconcile(now + timedelta(hours=1))
        await tx.commit()
    freed = await turn_of(engine, paid.id)
    assert freed is not None and freed < others


@ONLY_POSTGRESQL
@pytest.mark.holds_two_connections
async def test_a_turn_taken_on_a_payment_not_written_is_sent_alone_and_refused_if_taken_since(
    engine: AsyncEngine, sent: list[str]
) -> None:
    """A pending cancel sent again takes the turn without changing the payment."""
    deps, paid = await paid_payment(engine)
    tenant, now = paid.tenant_id, datetime.now(UTC)

    async with deps.uow() as tx:
        assert await tx.payments.get(tenant, paid.id) is not None
        held, _ = await take_turn_in(tx, tenant, paid.id, now)
        sent.clear()
        await tx.commit()
    assert [sql.split()[0] for sql in sent] == ["BEGIN", "UPDATE", "COMMIT"], sent
    assert await turn_of(engine, paid.id) == held

    later_on = now + CANCEL_TURN_HOLD + timedelta(seconds=1)  # that hold has lapsed
    async with deps.uow() as tx:
        assert await tx.payments.get(tenant, paid.id) is not None
        mine, _ = await take_turn_in(tx, tenant, paid.id, later_on)
        async with deps.uow() as other:  # another takes it first
            others, _ = await take_turn_in(other, tenant, paid.id, later_on)
            await other.commit()
        with pytest.raises(StaleAggregate, match="cancel turn was taken"):
            await tx.commit()
    assert mine is not None and others is not None
    assert await turn_of(engine, paid.id) == others
