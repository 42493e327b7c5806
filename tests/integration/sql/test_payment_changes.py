"""What WatchPayment learns from the database, on real databases: the unit of work reports the
payments a commit saved (with their new versions) once it is durable, never a rolled-back
change; SqlPaymentVersions reads the committed version of many payments at once."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.sql.payment_versions import CHUNK, SqlPaymentVersions
from sunap.adapters.sql.unit_of_work import sql_unit_of_work_factory
from sunap.application.ports.unit_of_work import UnitOfWorkFactory
from sunap.domain.payment import Payment
from tests.integration.sql.payments_factory import envelope, later, new_payment
from tests.support.databases import unique


class Reported:
    """The post-commit hook: what each commit reported, as (payment id, version)."""

    def __init__(self) -> None:
        self.commits: list[set[tuple[str, int]]] = []

    def __call__(self, payments: Sequence[Payment]) -> None:
        self.commits.append({(p.id, p.version) for p in payments})


async def cancel_locally(uow: UnitOfWorkFactory, payment: Payment, *, commit: bool = True) -> None:
    async with uow() as tx:
        loaded = await tx.payments.get(payment.tenant_id, payment.id, for_update=True)
        assert loaded is not None
        loaded.begin_cancel(
            cancel_id=unique("cxl"),
            reason="changed mind",
            amount=None,
            idempotency_key=unique("k"),
            has_refund_account=False,
            now=later(1),
        )
        if commit:
            await tx.commit()


async def test_a_commit_reports_the_payments_it_saved_with_their_new_versions(
    engine: AsyncEngine,
) -> None:
    reported = Reported()
    uow = sql_unit_of_work_factory(engine, envelope, on_commit=reported)
    tenant = unique("tnt")
    first, second = new_payment(tenant), new_payment(tenant)
    async with uow() as tx:
        tx.payments.add(first)
        tx.payments.add(second)
        await tx.commit()
    await cancel_locally(uow, first)
    async with uow() as tx:
        await tx.payments.get(tenant, second.id)
        await tx.commit()  # nothing changed: nothing saved, nothing to report

    assert reported.commits == [{(first.id, 0), (second.id, 0)}, {(first.id, 1)}]


async def test_a_change_rolled_back_is_not_reported(engine: AsyncEngine) -> None:
    reported = Reported()
    uow = sql_unit_of_work_factory(engine, envelope, on_commit=reported)
    payment = new_payment(unique("tnt"))
    async with uow() as tx:
        tx.payments.add(payment)
        await tx.commit()

    await cancel_locally(uow, payment, commit=False)

    assert reported.commits == [{(payment.id, 0)}]


async def test_versions_are_read_for_many_payments_at_once_and_unknown_ids_are_left_out(
    engine: AsyncEngine,
) -> None:
    uow = sql_unit_of_work_factory(engine, envelope)
    tenant = unique("tnt")
    payments = [new_payment(tenant) for _ in range(CHUNK + 20)]  # more than one statement's worth
    async with uow() as tx:
        for payment in payments:
            tx.payments.add(payment)
        await tx.commit()
    await cancel_locally(uow, payments[-1])

    ids = [p.id for p in payments]
    found = await SqlPaymentVersions(engine).current([*ids, "pay_nobody"])

    assert found == {**dict.fromkeys(ids[:-1], 0), ids[-1]: 1}
