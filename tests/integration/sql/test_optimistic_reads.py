"""Reads without a row lock on PostgreSQL (application/optimism.py, adapters/sql/direct.py): a
unit of work that only reads sends no BEGIN and no COMMIT, a lone versioned write carrying its
audit and outbox rows commits alone in one statement, and a write refused because the payment
changed after its unlocked read leaves nothing behind and runs again with a locked read."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.crypto.fernet_box import FernetSecretBox, new_key
from sunap.adapters.sql.direct import DirectConnection, _Asyncpg
from sunap.adapters.sql.payments import _UPDATE_PAYMENT
from sunap.adapters.sql.tables import audit_entries
from sunap.adapters.sql.unit_of_work import sql_unit_of_work_factory
from sunap.adapters.system import SystemClock
from sunap.application.audit_kinds import AuditStatus
from sunap.application.commands import ConfirmPayment, CreatePayment
from sunap.application.confirm_payment import confirm_payment
from sunap.application.create_payment import create_payment
from sunap.application.optimism import lock_on_conflict
from sunap.application.ports.audit import AuditEntry
from sunap.application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from sunap.domain.errors import DuplicateOrderId
from sunap.domain.payment import PaymentStatus
from tests.fakes.gateway import FakeGateway
from tests.integration.sql.payments_factory import envelope, later, new_payment, outbox_rows
from tests.integration.sql.test_unit_of_work import save_new
from tests.support.databases import unique
from tests.support.sql_deps import deps_on

ONLY_POSTGRESQL = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


@pytest.fixture
def uow(engine: AsyncEngine) -> UnitOfWorkFactory:
    return sql_unit_of_work_factory(engine, envelope)


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement asyncpg is given, BEGIN, COMMIT and ROLLBACK included."""
    seen: list[str] = []
    for name in ("fetch", "execute"):
        original = getattr(_Asyncpg, name)

        async def spy(self: Any, sql: str, args: Any, _original: Any = original) -> Any:
            seen.append(sql.strip())
            return await _original(self, sql, args)

        monkeypatch.setattr(_Asyncpg, name, spy)
    for name in ("begin", "commit", "rollback"):
        original = getattr(_Asyncpg, name)

        async def spy_tx(self: Any, _original: Any = original, _name: str = name) -> None:
            seen.append(_name.upper())
            await _original(self)

        monkeypatch.setattr(_Asyncpg, name, spy_tx)
    return seen


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
        assert await connection.scalar(rows) == 1  # the first payment's alone
