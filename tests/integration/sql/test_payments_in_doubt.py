"""The gauges of payments in doubt read on real databases: confirms and cancels whose PG outcome
the reconciler has yet to learn are counted, with the age of the oldest call; payments settled,
handed to a person or waiting for a deposit are not."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.sql.backlog import Doubt, SqlBacklog
from sunap.adapters.sql.unit_of_work import sql_unit_of_work_factory
from sunap.domain.payment import Approval, Payment, PaymentMethod, PaymentStatus
from tests.integration.sql.payments_factory import envelope, later, new_payment
from tests.support.databases import unique

RETRY = timedelta(seconds=5)


def claimed(tenant: str, at_seconds: float) -> Payment:
    """A confirm sent at T0 + at_seconds whose answer did not come: the reconciler follows it."""
    payment = new_payment(tenant)
    now = later(at_seconds)
    payment.begin_confirm(
        payment_key=unique("tpk"), amount=payment.amount, idempotency_key=unique("idem"), now=now
    )
    payment.schedule_reconcile(now + RETRY, attempts=0)
    return payment


def approved(tenant: str, method: PaymentMethod = PaymentMethod.CARD) -> Payment:
    payment = new_payment(tenant, method=method)
    payment.approve(Approval(unique("tpk"), PaymentStatus.DONE, method, later(1)), later(1))
    return payment


def cancel_sent(payment: Payment, at_seconds: float) -> Payment:
    """A cancel sent at T0 + at_seconds whose answer did not come."""
    now = later(at_seconds)
    payment.begin_cancel(
        cancel_id=unique("cnl"),
        reason="customer asked",
        amount=1000,
        idempotency_key=unique("idem"),
        has_refund_account=False,
        now=now,
    )
    payment.schedule_reconcile(now + RETRY, attempts=0)
    return payment


async def test_payments_in_doubt_are_counted_with_the_age_of_the_oldest_call(
    fresh_engine: AsyncEngine,
) -> None:
    backlog = SqlBacklog(fresh_engine)
    assert await backlog.doubt(later(0)) == Doubt(0, 0, 0.0)

    tenant = unique("tnt")
    given_up = claimed(tenant, 5)
    given_up.schedule_reconcile(None)
    given_up.flag_for_review("unknown PG outcome after 9 checks", later(6))
    settled = cancel_sent(approved(tenant), 7)
    settled.complete_cancel(
        settled.pending_cancels[0].id,
        transaction_key=unique("tx"),
        canceled_at=later(8),
        now=later(8),
    )
    settled.schedule_reconcile(None, attempts=0)
    in_doubt = [
        claimed(tenant, 30),
        claimed(tenant, 20),
        cancel_sent(approved(tenant), 10),  # the oldest call still unanswered
        cancel_sent(cancel_sent(approved(tenant), 40), 50),  # two cancels: one payment
    ]
    uow = sql_unit_of_work_factory(fresh_engine, envelope)
    async with uow() as tx:
        for payment in [given_up, settled, approved(tenant), *in_doubt]:
            tx.payments.add(payment)
        await tx.commit()

    assert await backlog.doubt(later(70)) == Doubt(
        outcome_unknown=2, cancels_pending=2, oldest_age_seconds=60.0
    )
    assert (await backlog.measure(later(70))).needing_review == 1
