"""A cancel's unlocked reads and carried writes on PostgreSQL, under races: a locked writer
of the same payment, concurrent partial cancels, and every shape of write a unit can commit
(what commits is exactly what the unit decided, alone or in a transaction)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.sql.tables import payment_cancels
from sunap.application.errors import StaleAggregate
from sunap.domain.payment import CancelStatus
from tests.integration.sql.test_optimistic_reads import (
    ONLY_POSTGRESQL,
    audit_entry,
    paid_payment,
    reserve,
    turn_of,
)
from tests.support.databases import unique


async def _reserve_two(
    deps: Any, tenant: str, payment_id: str, now: datetime, amounts: tuple[int, int] = (5000, 5000)
) -> list[str]:
    ids = [unique("cxl"), unique("cxl")]
    async with deps.uow() as tx:
        payment = await tx.payments.get(tenant, payment_id, for_update=True)
        for cancel_id, amount in zip(ids, amounts, strict=True):
            reserve(payment, amount, now, cancel_id=cancel_id)
        await tx.commit()
    return ids


async def _wait_for_lock_wait(engine: AsyncEngine) -> None:
    """Until some backend waits for a lock (the unlocked writer, on the payment's row)."""
    from sqlalchemy import text

    for _ in range(100):
        async with engine.connect() as connection:
            waiting = await connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            )
        if waiting:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("nobody waited for a lock")


@ONLY_POSTGRESQL
@pytest.mark.holds_two_connections
@pytest.mark.parametrize("completed", [1, 2])  # 1: the cancel row rides; 2: they cannot
async def test_an_unlocked_write_that_cannot_ride_does_not_deadlock_a_locked_writer(
    engine: AsyncEngine, completed: int
) -> None:
    """An answer (record_result, now unlocked first) completing two pending cancels at once
    must not update its cancel rows before the payment's versioned update, whatever rides: a
    locked writer of the same payment (the webhook processor, the reconciler) holds the
    payment's row and then updates the same cancel row, and the two would wait on each other.
    With the payment's update first, the unlocked writer waits and is refused as stale."""
    deps, paid = await paid_payment(engine)
    tenant, now = paid.tenant_id, datetime.now(UTC)
    first, second = await _reserve_two(deps, tenant, paid.id, now)

    locked_uow = deps.uow()
    await locked_uow.__aenter__()
    try:
        held = await locked_uow.payments.get(tenant, paid.id, for_update=True)
        assert held is not None

        async def unlocked_answer() -> None:
            async with deps.uow() as tx:
                payment = await tx.payments.get(tenant, paid.id)
                assert payment is not None
                for cancel_id, key in ((first, "tx-1"), (second, "tx-2"))[:completed]:
                    payment.complete_cancel(
                        cancel_id, transaction_key=key, canceled_at=now, now=now
                    )
                await tx.commit()

        task = asyncio.create_task(unlocked_answer())
        await _wait_for_lock_wait(engine)  # it waits for the payment's row
        held.complete_cancel(first, transaction_key="tx-1", canceled_at=now, now=now)
        locked_error: BaseException | None = None
        try:
            await locked_uow.commit()
        except BaseException as error:
            locked_error = error
    finally:
        await locked_uow.__aexit__(None, None, None)
    unlocked = await asyncio.gather(task, return_exceptions=True)
    assert locked_error is None, f"the locked writer failed: {locked_error!r}"
    assert isinstance(unlocked[0], StaleAggregate), f"the unlocked writer: {unlocked[0]!r}"


@ONLY_POSTGRESQL
@pytest.mark.parametrize(
    "shape",
    [
        "new",
        "changed",
        "new+changed",
        "two-new",
        "two-changed",
        "changed+two-events",
        "new+audit-only",
        "take-turn+new",
        "end-turn+changed",
        "end-turn-unchanged",
        "end-turn+two-changed",
        "take-turn+two-new",
    ],
)
async def test_what_commits_is_what_was_decided(
    engine: AsyncEngine, sent: list[str], shape: str
) -> None:
    """Whatever writes_pending says (alone or not), every cancel row, the audit row and the
    turn end up as the unit decided: no rider dropped, no RuntimeError."""
    deps, paid = await paid_payment(engine)
    tenant, now = paid.tenant_id, datetime.now(UTC)
    pending = await _reserve_two(deps, tenant, paid.id, now)
    if "end-turn" in shape:
        from sunap.application.cancel_turns import try_turn

        _, hold = await try_turn(tenant, paid.id, deps)
        assert hold is not None
    async with deps.uow() as tx:
        payment = await tx.payments.get(tenant, paid.id)
        assert payment is not None
        if "take-turn" in shape:
            from sunap.application.cancel_turns import take_turn_in

            # turn free? it was never taken on this payment in this test
            held, _ = await take_turn_in(tx, tenant, paid.id, now)
            assert held is not None
        if "end-turn" in shape:
            from sunap.application.cancel_turns import end_turn_in

            await end_turn_in(tx, tenant, paid.id, hold, deps, sent=False)
        news = {"new": 1, "new+changed": 1, "two-new": 2, "new+audit-only": 1}.get(shape, 0)
        if shape == "take-turn+new":
            news = 1
        if shape == "take-turn+two-new":
            news = 2
        for _ in range(news):
            reserve(payment, 1000, now)
        changes = {
            "changed": 1,
            "new+changed": 1,
            "two-changed": 2,
            "end-turn+changed": 1,
            "end-turn+two-changed": 2,
        }
        for n, cancel_id in enumerate(pending[: changes.get(shape, 0)]):
            payment.complete_cancel(cancel_id, transaction_key=f"t{n}", canceled_at=now, now=now)
        if shape == "changed+two-events":
            payment.complete_cancel(pending[0], transaction_key="a", canceled_at=now, now=now)
            payment.fail_cancel(
                pending[1],
                __import__("sunap.domain.payment", fromlist=["Failure"]).Failure("X", "no"),
                now,
            )
            payment.flag_for_review("odd", now)
        tx.audit.add(audit_entry(tenant, paid.id, "review"))
        expected = [(c.id, c.status, c.transaction_key) for c in payment.cancels]
        sent.clear()
        await tx.commit()
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                select(
                    payment_cancels.c.id,
                    payment_cancels.c.status,
                    payment_cancels.c.transaction_key,
                )
                .where(payment_cancels.c.payment_id == paid.id)
                .order_by(payment_cancels.c.position)
            )
        ).all()
    assert [(r[0], CancelStatus(r[1]), r[2]) for r in rows] == expected, sent
    async with deps.uow() as tx:
        trail = [e.type for e in await tx.audit.list_for_payment(tenant, paid.id)]
    assert trail[-1] == "review", sent
    if "take-turn" in shape:
        assert await turn_of(engine, paid.id) == held
    if "end-turn" in shape:
        turn = await turn_of(engine, paid.id)
        assert turn is not None and turn < hold


@ONLY_POSTGRESQL
@pytest.mark.holds_two_connections
async def test_record_result_of_two_cancels_beside_a_webhook_applying_the_same_answer(
    engine: AsyncEngine,
) -> None:
    """The use-case shape of the deadlock above: record_result (now unlocked first) adopts a
    Toss record completing two pending cancels of the payment, while the webhook processor
    (locked read, webhook_processing._apply_truth's shape) applies the same record."""
    from sunap.application import audit
    from sunap.application.outcomes import adopt_or_flag, record_result
    from sunap.application.ports.gateway import PgOperation

    deps, paid = await paid_payment(engine)
    tenant, now = paid.tenant_id, datetime.now(UTC)
    _, second = await _reserve_two(deps, tenant, paid.id, now, (5000, 4000))
    async with deps.uow() as tx:
        payment = await tx.payments.get(tenant, paid.id)
    assert payment is not None and payment.payment_key is not None
    gateway = await deps.accounts.gateway(payment.pg_account_id)
    answers = []
    for cancel in payment.cancels:
        answers.append(
            await gateway.cancel(
                payment_key=payment.payment_key,
                reason="Too big",
                amount=cancel.amount,
                idempotency_key=cancel.gateway_idempotency_key,
            )
        )
    truth = answers[-1]  # Toss's record, both cancels done
    answered = {second: truth.last_transaction_key} if truth.last_transaction_key else {}

    webhook = deps.uow()
    await webhook.__aenter__()
    try:
        held = await webhook.payments.get(tenant, paid.id, for_update=True)
        assert held is not None
        task = asyncio.create_task(
            record_result(
                tenant, paid.id, truth, deps, PgOperation.CANCEL, answered_cancels=answered
            )
        )
        await _wait_for_lock_wait(engine)
        audit.record_exchange(webhook, deps, held, truth.exchange, PgOperation.LOOKUP)
        adopt_or_flag(webhook, held, truth, deps)
        webhook_error: BaseException | None = None
        try:
            await webhook.commit()
        except BaseException as error:
            webhook_error = error
    finally:
        await webhook.__aexit__(None, None, None)
    recorded = (await asyncio.gather(task, return_exceptions=True))[0]
    assert webhook_error is None, f"the webhook's transaction failed: {webhook_error!r}"
    assert not isinstance(recorded, BaseException), f"record_result failed: {recorded!r}"
    async with deps.uow() as tx:
        after = await tx.payments.get(tenant, paid.id)
    assert after is not None and after.balance_amount == 6000
    assert [c.status for c in after.cancels] == [CancelStatus.DONE, CancelStatus.DONE]


@ONLY_POSTGRESQL
@pytest.mark.holds_two_connections
async def test_concurrent_partial_cancels_never_pass_the_balance(engine: AsyncEngine) -> None:
    """Six cancels of 4,000 of a 15,000 payment at once, each on its own unlocked read: three
    are done, the others refused, and the books add up."""
    from sunap.application.cancel_payment import cancel_payment
    from sunap.application.commands import CancelPayment
    from sunap.domain.errors import ExceedsBalance

    deps, paid = await paid_payment(engine)
    results = await asyncio.gather(
        *(
            cancel_payment(CancelPayment(paid.tenant_id, paid.id, f"part {n}", 4000), deps)
            for n in range(6)
        ),
        return_exceptions=True,
    )
    done = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, ExceedsBalance)]
    others = [r for r in results if isinstance(r, BaseException) and r not in refused]
    assert not others, others
    assert (len(done), len(refused)) == (3, 3)
    async with deps.uow() as tx:
        after = await tx.payments.get(paid.tenant_id, paid.id)
    assert after is not None
    assert after.balance_amount == 3000 and after.pending_cancel_amount == 0
    assert [c.status for c in after.cancels] == [CancelStatus.DONE] * 3
    gateway = await deps.accounts.gateway(after.pg_account_id)
    assert after.payment_key is not None
    truth = await gateway.lookup_by_payment_key(after.payment_key)
    assert sum(c.amount for c in truth.cancels) == 12000


@ONLY_POSTGRESQL
@pytest.mark.parametrize("first_read", ["list", "attach"])
async def test_a_turn_on_a_payment_not_read_by_get_is_taken_at_once(
    engine: AsyncEngine, first_read: str
) -> None:
    """Read by list() or attached: the turn is not folded (no unlocked read of it), so it is
    taken by its own statement in the transaction; the reservation commits with it."""
    from sunap.application.cancel_turns import take_turn_in
    from sunap.application.ports.payments import PaymentQuery

    deps, paid = await paid_payment(engine)
    tenant, now = paid.tenant_id, datetime.now(UTC)
    async with deps.uow() as reading:
        fresh = await reading.payments.get(tenant, paid.id)
    assert fresh is not None
    async with deps.uow() as tx:
        if first_read == "list":
            page = await tx.payments.list(tenant, PaymentQuery(limit=10))
            payment = next(p for p in page.items if p.id == paid.id)
            assert await tx.payments.get(tenant, paid.id) is payment
        else:
            payment = tx.payments.attach(fresh)
        held, _ = await take_turn_in(tx, tenant, paid.id, now)
        assert held is not None
        reserve(payment, 5000, now)
        tx.audit.add(audit_entry(tenant, paid.id, "cancel.requested"))
        await tx.commit()
    assert await turn_of(engine, paid.id) == held
    async with deps.uow() as tx:
        after = await tx.payments.get(tenant, paid.id)
    assert after is not None and [c.amount for c in after.cancels] == [5000]


@ONLY_POSTGRESQL
async def test_a_cancel_made_at_toss_is_adopted_by_a_lookup_in_one_transaction(
    engine: AsyncEngine, sent: list[str]
) -> None:
    from sunap.application.outcomes import record_result
    from sunap.application.ports.gateway import PgOperation

    deps, paid = await paid_payment(engine)
    assert paid.payment_key is not None
    gateway = await deps.accounts.gateway(paid.pg_account_id)
    await gateway.cancel(
        payment_key=paid.payment_key, reason="console", amount=3000, idempotency_key=unique("k")
    )
    truth = await gateway.lookup_by_payment_key(paid.payment_key)
    sent.clear()
    after = await record_result(paid.tenant_id, paid.id, truth, deps, PgOperation.LOOKUP)
    # Two trail rows (the look-up's and the console cancel's own, cancel.external) cannot both
    # ride on the payment's update: one transaction, begun after the unlocked read.
    words = [sql.split()[0] for sql in sent]
    assert words[:2] == ["SELECT", "BEGIN"] and words[-1] == "COMMIT", sent
    assert "SELECT" not in words[1:], sent  # read once, unlocked; nothing was read again
    assert after.balance_amount == 12000
    async with deps.uow() as tx:
        stored = await tx.payments.get(paid.tenant_id, paid.id)
        trail = await tx.audit.list_for_payment(paid.tenant_id, paid.id)
    assert stored is not None and [(c.amount, c.status) for c in stored.cancels] == [
        (3000, CancelStatus.DONE)
    ]
    assert [t.type for t in trail][-2:] == ["pg.lookup", "cancel.external"]
