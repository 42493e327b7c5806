"""Toss sends no webhook when a virtual account's due date passes: the reconciler looks at the
due date and makes the payment EXPIRED once Toss says the account expired."""

from __future__ import annotations

from datetime import timedelta

from sunap.application.commands import ConfirmPayment, CreatePayment
from sunap.application.confirm_payment import confirm_payment
from sunap.application.create_payment import create_payment
from sunap.application.deps import Deps
from sunap.application.reconcile import ReconcileOutcome, reconcile_due
from sunap.domain.payment import Payment, PaymentMethod, PaymentStatus
from tests.fakes.clock import FakeClock
from tests.fakes.gateway import VIRTUAL_ACCOUNT_VALID_FOR, FakeGateway
from tests.fakes.uow import InMemoryStore


async def issue_account(deps: Deps, toss: FakeGateway, order_id: str) -> tuple[Payment, str]:
    payment = await create_payment(
        CreatePayment("t1", "default", "책", 20000, order_id=order_id), deps
    )
    key = toss.pay_in_window(order_id, 20000, method=PaymentMethod.VIRTUAL_ACCOUNT)
    waiting = await confirm_payment(ConfirmPayment("t1", key, order_id, 20000), deps)
    assert waiting.status is PaymentStatus.WAITING_FOR_DEPOSIT
    return payment, key


async def test_a_waiting_account_is_next_checked_at_its_due_date(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    payment, _ = await issue_account(deps, toss, "order-va-due-1")
    stored = store.payment(payment.id)
    assert stored.next_reconcile_at == stored.deposit_due_at
    assert stored.deposit_due_at is not None
    assert stored.deposit_due_at - clock.now() == VIRTUAL_ACCOUNT_VALID_FOR
    assert await reconcile_due(deps) == {}


async def test_an_account_past_due_becomes_expired_with_its_event(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    payment, key = await issue_account(deps, toss, "order-va-due-2")
    clock.advance(VIRTUAL_ACCOUNT_VALID_FOR + timedelta(seconds=1))
    toss.expire(key)
    assert await reconcile_due(deps) == {payment.id: ReconcileOutcome.SETTLED}
    expired = store.payment(payment.id)
    assert expired.status is PaymentStatus.EXPIRED
    assert expired.failure is not None and expired.failure.code == "EXPIRED_PAYMENT"
    assert expired.next_reconcile_at is None
    assert [e.type for e in store.events_of(payment.id)][-1] == "payment.expired"


async def test_an_account_paid_just_before_its_due_date_is_completed_not_expired(
    deps: Deps, toss: FakeGateway, store: InMemoryStore, clock: FakeClock
) -> None:
    payment, key = await issue_account(deps, toss, "order-va-due-3")
    toss.deposit(key)  # the deposit webhook never reached us
    clock.advance(VIRTUAL_ACCOUNT_VALID_FOR + timedelta(seconds=1))
    await reconcile_due(deps)
    assert store.payment(payment.id).status is PaymentStatus.DONE
