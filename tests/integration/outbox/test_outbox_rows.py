"""The outbox is written in the state change's own transaction: a rollback leaves no event behind,
a commit leaves exactly one row per event, in Debezium's column names with the CloudEvents
envelope as payload."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.sql.tables import outbox, payments
from sunap.adapters.system import SystemClock
from sunap.domain.payment import Approval, Payment, PaymentMethod, PaymentStatus
from tests.integration.outbox.workload import unit_of_work_factory
from tests.support.databases import unique

DEBEZIUM_COLUMNS = {"id", "aggregatetype", "aggregateid", "type", "payload"}


def new_payment(tenant: str) -> Payment:
    return Payment.create(
        id=unique("pay"),
        tenant_id=tenant,
        pg_account_id=unique("acct"),  # tests share a database: keys stay apart
        order_id=unique("order"),
        order_name="Outbox rows",
        amount=15000,
        currency="KRW",
        now=SystemClock().now(),
    )


async def rows_of(engine: AsyncEngine, payment_id: str) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        found = await conn.execute(
            select(outbox).where(outbox.c.aggregateid == payment_id).order_by(outbox.c.seq)
        )
        return [dict(r) for r in found.mappings()]


def envelope_of(row: dict[str, Any]) -> dict[str, Any]:
    payload = row["payload"]
    decoded = json.loads(payload) if isinstance(payload, str | bytes) else payload
    assert isinstance(decoded, dict)
    return decoded


async def test_a_rolled_back_change_leaves_no_outbox_row(engine: AsyncEngine) -> None:
    uow = unit_of_work_factory(engine)
    payment = new_payment(unique("tnt"))

    async with uow() as tx:
        tx.payments.add(payment)
        await tx.rollback()
    with pytest.raises(RuntimeError):
        async with uow() as tx:
            tx.payments.add(new_payment(payment.tenant_id))
            raise RuntimeError("the request failed before commit")

    assert await rows_of(engine, payment.id) == []
    async with engine.connect() as conn:
        kept = await conn.execute(select(payments.c.id).where(payments.c.id == payment.id))
        assert kept.first() is None


async def test_a_committed_change_leaves_one_row_per_event_in_debezium_columns(
    engine: AsyncEngine,
) -> None:
    uow = unit_of_work_factory(engine)
    payment = new_payment(unique("tnt"))
    async with uow() as tx:
        tx.payments.add(payment)
        await tx.commit()
    async with uow() as tx:
        loaded = await tx.payments.get(payment.tenant_id, payment.id, for_update=True)
        assert loaded is not None
        now = SystemClock().now()
        loaded.begin_confirm(payment_key="pk_1", amount=15000, idempotency_key="k_1", now=now)
        loaded.approve(Approval("pk_1", PaymentStatus.DONE, PaymentMethod.CARD, now), now)
        await tx.commit()

    rows = await rows_of(engine, payment.id)

    assert [r["type"] for r in rows] == ["payment.created", "payment.completed"]
    for sequence, row in enumerate(rows, start=1):
        assert row.keys() >= DEBEZIUM_COLUMNS
        assert row["aggregatetype"] == "payment"
        assert row["aggregateid"] == payment.id
        assert row["published_at"] is None
        envelope = envelope_of(row)
        assert envelope["specversion"] == "1.0"
        assert envelope["id"] == row["id"]
        assert envelope["type"] == row["type"]
        assert envelope["subject"] == payment.id
        assert envelope["sequence"] == sequence
        assert envelope["data"]["id"] == payment.id
    assert envelope_of(rows[-1])["data"]["status"] == "DONE"
