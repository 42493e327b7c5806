"""The in-memory unit of work keeps the promises of the real one."""

from __future__ import annotations

import asyncio

import pytest

from sunap.application.errors import StaleAggregate
from sunap.application.ports.audit import AuditEntry
from sunap.application.ports.idempotency import ClaimOutcome, StoredResponse
from sunap.domain.errors import DuplicateOrderId
from sunap.domain.payment import PaymentStatus
from tests.fakes.idempotency import InMemoryIdempotencyStore
from tests.fakes.payments import NOW, new_payment
from tests.fakes.uow import InMemoryUnitOfWorkFactory

S = PaymentStatus


def audit_entry(payment_id: str = "pay_test") -> AuditEntry:
    return AuditEntry("aud_1", "tenant_a", payment_id, "payment.created", "ok", None, None, 0, NOW)


async def test_nothing_is_kept_without_a_commit() -> None:
    uows = InMemoryUnitOfWorkFactory()
    async with uows() as uow:
        uow.payments.add(new_payment())
        uow.audit.add(audit_entry())
    assert uows.store.payments == {}
    assert (uows.store.outbox, uows.store.audit) == ([], [])


async def test_a_commit_writes_the_payment_its_events_and_its_audit_together() -> None:
    uows = InMemoryUnitOfWorkFactory()
    async with uows() as uow:
        uow.payments.add(new_payment())
        uow.audit.add(audit_entry())
        await uow.commit()
    assert uows.store.payment("pay_test").version == 1
    assert [r.event.type for r in uows.store.outbox] == ["payment.created"]
    assert uows.store.outbox[0].payment.status is S.READY
    assert len(uows.store.audit_of("pay_test")) == 1


async def test_a_change_is_saved_once_with_one_event_per_change() -> None:
    uows = InMemoryUnitOfWorkFactory()
    async with uows() as uow:
        uow.payments.add(new_payment())
        await uow.commit()
    async with uows() as uow:
        payment = await uow.payments.get("tenant_a", "pay_test")
        assert payment is not None
        payment.expire(NOW)
        await uow.commit()
    assert uows.store.payment("pay_test").status is S.EXPIRED
    assert [r.event.type for r in uows.store.outbox] == ["payment.created", "payment.expired"]
    assert uows.store.outbox[1].payment.status is S.EXPIRED


async def test_a_stale_write_is_refused_and_leaves_the_first_one() -> None:
    uows = InMemoryUnitOfWorkFactory()
    async with uows() as uow:
        uow.payments.add(new_payment())
        await uow.commit()
    first, second = uows(), uows()
    a = await first.payments.get("tenant_a", "pay_test")
    b = await second.payments.get("tenant_a", "pay_test")
    assert a is not None and b is not None
    a.expire(NOW)
    await first.commit()
    b.begin_confirm(payment_key="pk", amount=15000, idempotency_key="k", now=NOW)
    with pytest.raises(StaleAggregate):
        await second.commit()
    assert uows.store.payment("pay_test").status is S.EXPIRED
    assert len(uows.store.outbox) == 2


async def test_a_second_payment_for_one_order_id_fails_the_commit() -> None:
    uows = InMemoryUnitOfWorkFactory()
    async with uows() as uow:
        uow.payments.add(new_payment(id="pay_1"))
        await uow.commit()
    async with uows() as uow:
        uow.payments.add(new_payment(id="pay_2"))
        uow.audit.add(audit_entry("pay_2"))
        with pytest.raises(DuplicateOrderId):
            await uow.commit()
    async with uows() as uow:
        uow.payments.add(new_payment(id="pay_3", tenant_id="tenant_b"))
        with pytest.raises(DuplicateOrderId):  # the same PG account: its orderIds are shared
            await uow.commit()
    async with uows() as uow:
        uow.payments.add(new_payment(id="pay_4", tenant_id="tenant_b", pg_account_id="own_b"))
        await uow.commit()  # another account, another tenant: another order
    assert sorted(uows.store.payments) == ["pay_1", "pay_4"]
    assert uows.store.audit == []


async def test_a_transaction_reads_its_own_writes_and_hands_out_copies() -> None:
    uows = InMemoryUnitOfWorkFactory()
    async with uows() as uow:
        uow.payments.add(new_payment())
        assert await uow.payments.get_by_order_id("tenant_a", "order-0001") is not None
        await uow.commit()
    async with uows() as uow:
        payment = await uow.payments.get("tenant_a", "pay_test")
        assert payment is not None
        assert payment is await uow.payments.get_any_tenant("pay_test")
        payment.expire(NOW)
        assert uows.store.payments["pay_test"].status is S.READY
    assert await uows().payments.get("tenant_b", "pay_test") is None


async def test_reading_for_update_waits_for_the_other_transaction() -> None:
    uows = InMemoryUnitOfWorkFactory()
    async with uows() as uow:
        uow.payments.add(new_payment())
        await uow.commit()
    first = uows()
    held = await first.payments.get("tenant_a", "pay_test", for_update=True)
    assert held is not None
    waiting = asyncio.create_task(uows().payments.get("tenant_a", "pay_test", for_update=True))
    await asyncio.sleep(0)
    assert not waiting.done()
    held.expire(NOW)
    await first.commit()
    fresh = await waiting
    assert fresh is not None and fresh.status is S.EXPIRED


async def test_an_idempotency_key_is_claimed_once_then_replayed() -> None:
    store = InMemoryIdempotencyStore()
    later = NOW.replace(minute=1)
    assert (await store.claim("t", "k", "fp", NOW, later)).outcome is ClaimOutcome.NEW
    assert (await store.claim("t", "k", "fp", NOW, later)).outcome is ClaimOutcome.IN_FLIGHT
    assert (await store.claim("t", "k", "other", NOW, later)).outcome is ClaimOutcome.MISMATCH
    assert (await store.claim("u", "k", "fp", NOW, later)).outcome is ClaimOutcome.NEW
    response = StoredResponse(200, b"{}", "application/json")
    await store.finish("t", "k", response)
    replay = await store.claim("t", "k", "fp", NOW, later)
    assert (replay.outcome, replay.response) == (ClaimOutcome.REPLAY, response)
    await store.release("u", "k")
    assert (await store.claim("u", "k", "fp", NOW, later)).outcome is ClaimOutcome.NEW


async def test_a_stale_lock_or_an_old_key_is_taken_over() -> None:
    store = InMemoryIdempotencyStore()
    soon = NOW.replace(minute=1)
    await store.claim("t", "k", "fp", NOW, soon)
    after_lock = NOW.replace(minute=2)
    claim = await store.claim("t", "k", "fp", after_lock, after_lock.replace(minute=3))
    assert claim.outcome is ClaimOutcome.NEW
    await store.finish("t", "k", StoredResponse(200, b"{}", "application/json"))
    next_day = NOW.replace(day=NOW.day + 1, hour=NOW.hour + 1)
    assert (await store.claim("t", "k", "fp", next_day, next_day)).outcome is ClaimOutcome.NEW
