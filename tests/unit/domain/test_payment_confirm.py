"""Confirming a payment: who may call the PG, and what an approval or a refusal leaves behind."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sunap.domain import events as ev
from sunap.domain.errors import (
    AlreadyProcessedPayment,
    AmountMismatch,
    ConfirmInProgress,
    NotConfirmableStatus,
)
from sunap.domain.payment import (
    Approval,
    CardDetails,
    ConfirmStart,
    Failure,
    PaymentMethod,
    PaymentStatus,
    VirtualAccountDetails,
)
from tests.fakes.payments import CONFIRM_KEY, NOW, approval, new_payment, payment_in

S = PaymentStatus
LATER = NOW + timedelta(seconds=5)


def test_a_new_payment_is_ready_with_its_whole_amount_as_balance() -> None:
    payment = new_payment(amount=15000)
    assert payment.status is S.READY
    assert payment.balance_amount == 15000
    assert payment.created_at == payment.updated_at == NOW
    assert payment.events == [ev.PaymentCreated(payment_id="pay_test", sequence=1)]


def test_claiming_a_ready_payment_moves_it_in_progress_with_its_keys() -> None:
    payment = new_payment()
    start = payment.begin_confirm(
        payment_key="pk_1", amount=15000, idempotency_key=CONFIRM_KEY, now=LATER
    )
    assert start is ConfirmStart.CLAIMED
    assert payment.status is S.IN_PROGRESS
    assert payment.payment_key == "pk_1"
    assert payment.confirm_idempotency_key == CONFIRM_KEY
    assert payment.requested_at == payment.updated_at == LATER


@pytest.mark.parametrize("status", list(S))
def test_a_wrong_amount_is_refused_and_changes_nothing(status: PaymentStatus) -> None:
    payment = payment_in(status)
    before = (payment.status, payment.payment_key, payment.updated_at, payment.balance_amount)
    with pytest.raises(AmountMismatch) as raised:
        payment.begin_confirm(payment_key="pk_other", amount=16000, idempotency_key="k2", now=LATER)
    assert raised.value.code == "AMOUNT_MISMATCH"
    assert (payment.status, payment.payment_key, payment.updated_at, payment.balance_amount) == (
        before
    )
    assert payment.events == []


@pytest.mark.parametrize("status", [S.WAITING_FOR_DEPOSIT, S.DONE])
def test_an_approved_payment_confirmed_again_with_its_key_needs_no_pg_call(
    status: PaymentStatus,
) -> None:
    payment = payment_in(status, payment_key="pk_1")
    start = payment.begin_confirm(
        payment_key="pk_1", amount=15000, idempotency_key="another", now=LATER
    )
    assert start is ConfirmStart.ALREADY_APPROVED
    assert payment.status is status
    assert payment.confirm_idempotency_key == CONFIRM_KEY  # the first key stays
    assert payment.events == []


@pytest.mark.parametrize("status", [S.PARTIAL_CANCELED, S.CANCELED])
def test_a_canceled_payment_confirmed_again_with_its_key_is_refused_not_reported_approved(
    status: PaymentStatus,
) -> None:
    """A 200 from confirm means DONE or WAITING_FOR_DEPOSIT only: a refunded payment is 409."""
    payment = payment_in(status, payment_key="pk_1")
    with pytest.raises(NotConfirmableStatus) as raised:
        payment.begin_confirm(payment_key="pk_1", amount=15000, idempotency_key="k", now=LATER)
    assert raised.value.code == "NOT_CONFIRMABLE_STATUS"
    assert str(status) in raised.value.message
    assert payment.status is status
    assert payment.events == []


@pytest.mark.parametrize("status", [S.WAITING_FOR_DEPOSIT, S.DONE, S.PARTIAL_CANCELED, S.CANCELED])
def test_an_approved_payment_refuses_another_payment_key(status: PaymentStatus) -> None:
    payment = payment_in(status, payment_key="pk_1")
    with pytest.raises(AlreadyProcessedPayment) as raised:
        payment.begin_confirm(payment_key="pk_2", amount=15000, idempotency_key="k", now=LATER)
    assert raised.value.code == "ALREADY_PROCESSED_PAYMENT"
    assert payment.payment_key == "pk_1"


@pytest.mark.parametrize("payment_key", ["pk_1", "pk_2"])
def test_a_confirm_in_progress_refuses_a_second_one(payment_key: str) -> None:
    payment = payment_in(S.IN_PROGRESS, payment_key="pk_1")
    with pytest.raises(ConfirmInProgress) as raised:
        payment.begin_confirm(payment_key=payment_key, amount=15000, idempotency_key="k", now=LATER)
    assert raised.value.code == "CONFIRM_IN_PROGRESS"
    assert payment.confirm_idempotency_key == CONFIRM_KEY


def test_an_aborted_payment_confirmed_again_with_its_key_reports_the_failure() -> None:
    payment = payment_in(S.ABORTED, payment_key="pk_1")
    start = payment.begin_confirm(payment_key="pk_1", amount=15000, idempotency_key="k", now=LATER)
    assert start is ConfirmStart.ALREADY_FAILED
    assert payment.status is S.ABORTED


def test_an_aborted_payment_cannot_be_confirmed_with_another_key() -> None:
    payment = payment_in(S.ABORTED, payment_key="pk_1")
    with pytest.raises(NotConfirmableStatus):
        payment.begin_confirm(payment_key="pk_2", amount=15000, idempotency_key="k", now=LATER)
    assert payment.status is S.ABORTED


def test_an_expired_payment_cannot_be_confirmed() -> None:
    payment = payment_in(S.EXPIRED)
    with pytest.raises(NotConfirmableStatus) as raised:
        payment.begin_confirm(payment_key="pk_1", amount=15000, idempotency_key="k", now=LATER)
    assert raised.value.code == "NOT_CONFIRMABLE_STATUS"
    assert payment.status is S.EXPIRED


def test_a_payment_canceled_before_anyone_paid_is_not_confirmable_not_already_approved() -> None:
    payment = new_payment()
    payment.begin_cancel(
        cancel_id="c1",
        reason="out of stock",
        amount=None,
        idempotency_key="k0",
        has_refund_account=False,
        now=LATER,
    )
    with pytest.raises(NotConfirmableStatus) as raised:
        payment.begin_confirm(payment_key="pk_1", amount=15000, idempotency_key="k", now=LATER)
    assert "CANCELED" in raised.value.message
    assert (payment.status, payment.payment_key) == (S.CANCELED, None)


def test_an_approval_completes_the_payment_with_the_pgs_details() -> None:
    payment = payment_in(S.IN_PROGRESS, payment_key="pk_1")
    card = CardDetails("신한", "43301234****123*", "신용", "개인", 0, "00000000")
    payment.approve(
        Approval(
            payment_key="pk_1",
            status=S.DONE,
            method=PaymentMethod.CARD,
            approved_at=LATER,
            card=card,
            receipt_url="https://receipt.example/1",
        ),
        LATER,
    )
    assert payment.status is S.DONE
    assert payment.method is PaymentMethod.CARD
    assert payment.approved_at == payment.updated_at == LATER
    assert payment.card == card
    assert payment.receipt_url == "https://receipt.example/1"
    assert payment.balance_amount == 15000
    assert payment.events == [ev.PaymentCompleted(payment_id="pay_test", sequence=2)]


def test_a_virtual_account_approval_waits_for_the_deposit() -> None:
    payment = payment_in(S.IN_PROGRESS, method=PaymentMethod.VIRTUAL_ACCOUNT)
    account = VirtualAccountDetails("88", "X6200012345678", "김토스", None)
    payment.approve(
        Approval(
            payment_key="pk_test",
            status=S.WAITING_FOR_DEPOSIT,
            method=PaymentMethod.VIRTUAL_ACCOUNT,
            approved_at=None,
            virtual_account=account,
            deposit_secret_digest="ab" * 32,
        ),
        LATER,
    )
    assert payment.status is S.WAITING_FOR_DEPOSIT
    assert payment.virtual_account == account
    assert payment.deposit_secret_digest == "ab" * 32
    assert payment.events == [ev.PaymentWaitingForDeposit(payment_id="pay_test", sequence=2)]


def test_the_deposit_completes_a_waiting_virtual_account() -> None:
    payment = payment_in(S.WAITING_FOR_DEPOSIT, method=PaymentMethod.VIRTUAL_ACCOUNT)
    payment.record_deposit(LATER, approved_at=LATER)
    assert payment.status is S.DONE
    assert payment.updated_at == LATER
    assert payment.approved_at == LATER  # a paid account shows when the PG says it was paid
    assert payment.events == [ev.PaymentCompleted(payment_id="pay_test", sequence=3)]


def test_an_approval_learned_without_our_claim_completes_a_ready_payment() -> None:
    payment = new_payment()
    payment.events.clear()
    payment.approve(approval("pk_9"), LATER)
    assert payment.status is S.DONE
    assert payment.payment_key == "pk_9"
    assert [type(e) for e in payment.events] == [ev.PaymentCompleted]


def test_an_approval_clears_an_earlier_failure() -> None:
    payment = payment_in(S.IN_PROGRESS)
    payment.failure = Failure("PROVIDER_ERROR", "temporary")
    payment.approve(approval(), LATER)
    assert payment.failure is None


def test_a_refusal_aborts_the_payment_and_keeps_the_pgs_reason() -> None:
    payment = payment_in(S.IN_PROGRESS)
    failure = Failure("REJECT_CARD_PAYMENT", "한도초과 혹은 잔액부족으로 결제에 실패했습니다.")
    payment.abort(failure, LATER)
    assert payment.status is S.ABORTED
    assert payment.failure == failure
    assert payment.balance_amount == 15000
    assert payment.events == [ev.PaymentFailed(payment_id="pay_test", sequence=2)]


@pytest.mark.parametrize("status", [S.READY, S.IN_PROGRESS, S.WAITING_FOR_DEPOSIT])
def test_an_unfinished_payment_can_expire(status: PaymentStatus) -> None:
    payment = payment_in(status)
    failure = Failure("EXPIRED_PAYMENT", "결제가 만료되었습니다.")
    payment.expire(LATER, failure)
    assert payment.status is S.EXPIRED
    assert payment.failure == failure
    assert [type(e) for e in payment.events] == [ev.PaymentExpired]


def test_only_an_in_progress_payment_or_a_pending_cancel_has_an_unknown_outcome() -> None:
    assert payment_in(S.IN_PROGRESS).has_unknown_outcome
    assert not payment_in(S.DONE).has_unknown_outcome
    assert not payment_in(S.READY).has_unknown_outcome
