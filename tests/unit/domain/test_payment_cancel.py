"""Cancelling: what may be cancelled, how much, and what a PG answer does to the balance."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sunap.domain import events as ev
from sunap.domain.errors import (
    BalanceChanged,
    ExceedsBalance,
    IllegalTransition,
    InvalidRequest,
    NotCancelableStatus,
    PartialCancelNotAllowed,
    RefundAccountRequired,
)
from sunap.domain.payment import (
    Cancel,
    CancelStatus,
    Failure,
    Payment,
    PaymentMethod,
    PaymentStatus,
)
from tests.fakes.payments import NOW, new_payment, payment_in

S = PaymentStatus
LATER = NOW + timedelta(minutes=1)


def begin(
    payment: Payment,
    amount: int | None,
    cancel_id: str = "cancel_1",
    *,
    has_refund_account: bool = False,
    tax_free_amount: int = 0,
) -> Cancel | None:
    return payment.begin_cancel(
        cancel_id=cancel_id,
        reason="changed my mind",
        amount=amount,
        idempotency_key=f"sunap:cancel:{cancel_id}",
        has_refund_account=has_refund_account,
        now=LATER,
        tax_free_amount=tax_free_amount,
    )


def reserved(payment: Payment, amount: int | None, cancel_id: str = "cancel_1") -> Cancel:
    cancel = begin(payment, amount, cancel_id)
    assert cancel is not None
    return cancel


def complete(payment: Payment, cancel_id: str = "cancel_1") -> None:
    payment.complete_cancel(
        cancel_id, transaction_key=f"txk_{cancel_id}", canceled_at=LATER, now=LATER
    )


def test_a_ready_payment_is_canceled_locally_with_no_pg_cancel() -> None:
    payment = new_payment()
    payment.events.clear()
    assert begin(payment, None) is None
    assert payment.status is S.CANCELED
    assert payment.balance_amount == 0
    assert payment.cancels == []
    assert payment.events == [ev.PaymentCanceled(payment_id="pay_test", sequence=2)]


def test_a_ready_payment_canceled_with_its_whole_amount_is_canceled() -> None:
    payment = new_payment()
    assert begin(payment, payment.amount) is None
    assert payment.status is S.CANCELED


def test_a_ready_payment_refuses_a_cancel_amount_above_its_amount() -> None:
    payment = new_payment()
    with pytest.raises(ExceedsBalance):
        begin(payment, payment.amount + 1)
    assert (payment.status, payment.balance_amount) == (S.READY, payment.amount)


def test_a_ready_payment_refuses_a_partial_cancel_nothing_was_paid_to_refund() -> None:
    payment = new_payment()
    with pytest.raises(PartialCancelNotAllowed):
        begin(payment, 100)
    assert (payment.status, payment.balance_amount) == (S.READY, payment.amount)


@pytest.mark.parametrize("status", [S.IN_PROGRESS, S.CANCELED, S.ABORTED, S.EXPIRED])
def test_a_payment_that_is_not_paid_or_waiting_cannot_be_canceled(status: PaymentStatus) -> None:
    payment = payment_in(status)
    balance = payment.balance_amount
    with pytest.raises(NotCancelableStatus) as raised:
        begin(payment, None)
    assert raised.value.code == "NOT_CANCELABLE_STATUS"
    assert (payment.status, payment.balance_amount, payment.pending_cancel_amount) == (
        status,
        balance,
        0,
    )


def test_a_cancel_reserves_its_amount_until_the_pg_answers() -> None:
    payment = payment_in(S.DONE)
    cancel = reserved(payment, 4000)
    assert cancel.status is CancelStatus.PENDING
    assert cancel.amount == 4000
    assert cancel.gateway_idempotency_key == "sunap:cancel:cancel_1"
    assert payment.pending_cancel_amount == 4000
    assert payment.balance_amount == 15000
    assert payment.cancelable_amount == 11000
    assert payment.status is S.DONE
    assert payment.pending_cancels == [cancel]
    assert payment.has_unknown_outcome
    assert payment.events == []


def test_no_amount_means_the_whole_cancelable_balance() -> None:
    payment = payment_in(S.PARTIAL_CANCELED)  # 1000 of 15000 already canceled
    assert reserved(payment, None).amount == 14000


@pytest.mark.parametrize("amount", [15001, 0, -1])
def test_an_amount_outside_the_balance_is_refused(amount: int) -> None:
    payment = payment_in(S.DONE)
    with pytest.raises(ExceedsBalance) as raised:
        begin(payment, amount)
    assert raised.value.code == "EXCEEDS_BALANCE"
    assert payment.cancels == []
    assert payment.pending_cancel_amount == 0


def test_cancels_in_flight_count_against_the_balance() -> None:
    payment = payment_in(S.DONE)
    reserved(payment, 10000, "cancel_1")
    with pytest.raises(ExceedsBalance):
        begin(payment, 5001, "cancel_2")
    assert reserved(payment, 5000, "cancel_2").amount == 5000
    with pytest.raises(ExceedsBalance, match="Nothing is left to cancel"):
        begin(payment, None, "cancel_3")
    assert payment.pending_cancel_amount == 15000


def test_a_cancel_the_pg_ran_for_less_holds_what_it_refunded_and_frees_the_rest() -> None:
    """A full cancel Toss ran for the 12,000 it had left (3,000 refunded in its console)."""
    payment = payment_in(S.DONE)
    reserved(payment, None)
    payment.reduce_cancel("cancel_1", 12000, LATER)
    assert (payment.pending_cancel_amount, payment.cancelable_amount) == (12000, 3000)
    complete(payment)
    assert (payment.status, payment.balance_amount) == (S.PARTIAL_CANCELED, 3000)
    assert [(e.type, e.amount) for e in payment.events] == [("payment.partially_canceled", 12000)]


@pytest.mark.parametrize("refunded", [0, 15001])
def test_a_cancel_is_never_made_nothing_or_more_than_it_holds(refunded: int) -> None:
    payment = payment_in(S.DONE)
    reserved(payment, None)
    with pytest.raises(IllegalTransition):
        payment.reduce_cancel("cancel_1", refunded, LATER)
    assert payment.pending_cancel_amount == 15000


@pytest.mark.parametrize(("amount", "tax_free"), [(100, 101), (None, 15001)])
def test_a_tax_free_part_larger_than_the_cancel_is_refused_before_anything_is_reserved(
    amount: int | None, tax_free: int
) -> None:
    """The PG refuses it (INVALID_REQUEST): reserved, the amount would wait on an answer that
    never settles it."""
    payment = payment_in(S.DONE)
    with pytest.raises(InvalidRequest, match="taxFreeAmount"):
        begin(payment, amount, tax_free_amount=tax_free)
    assert payment.cancels == []
    assert payment.pending_cancel_amount == 0
    assert payment.cancelable_amount == 15000


def test_a_virtual_account_waiting_for_its_deposit_cancels_only_in_full() -> None:
    payment = payment_in(S.WAITING_FOR_DEPOSIT, method=PaymentMethod.VIRTUAL_ACCOUNT)
    with pytest.raises(PartialCancelNotAllowed) as raised:
        begin(payment, 5000)
    assert raised.value.code == "PARTIAL_CANCEL_NOT_ALLOWED"
    assert payment.pending_cancel_amount == 0


def test_a_waiting_virtual_account_cancels_in_full_without_a_refund_account() -> None:
    payment = payment_in(S.WAITING_FOR_DEPOSIT, method=PaymentMethod.VIRTUAL_ACCOUNT)
    reserved(payment, None)
    complete(payment)
    assert payment.status is S.CANCELED
    assert payment.balance_amount == 0


@pytest.mark.parametrize("status", [S.DONE, S.PARTIAL_CANCELED])
def test_a_paid_virtual_account_needs_a_refund_account(status: PaymentStatus) -> None:
    payment = payment_in(status, method=PaymentMethod.VIRTUAL_ACCOUNT)
    with pytest.raises(RefundAccountRequired) as raised:
        begin(payment, 1000)
    assert raised.value.code == "REFUND_ACCOUNT_REQUIRED"
    assert begin(payment, 1000, has_refund_account=True) is not None


def test_a_paid_card_needs_no_refund_account() -> None:
    assert begin(payment_in(S.DONE), 1000, has_refund_account=False) is not None


def test_a_completed_partial_cancel_lowers_the_balance() -> None:
    payment = payment_in(S.DONE)
    reserved(payment, 4000)
    complete(payment)
    cancel = payment.cancels[0]
    assert payment.status is S.PARTIAL_CANCELED
    assert payment.balance_amount == 11000
    assert payment.pending_cancel_amount == 0
    assert (cancel.status, cancel.transaction_key, cancel.canceled_at) == (
        CancelStatus.DONE,
        "txk_cancel_1",
        LATER,
    )
    assert payment.events == [ev.PaymentPartiallyCanceled(payment_id="pay_test", sequence=3)]


def test_partial_cancels_that_reach_zero_cancel_the_payment() -> None:
    payment = payment_in(S.DONE)
    for n, amount in enumerate([5000, 5000, 5000], start=1):
        reserved(payment, amount, f"cancel_{n}")
        complete(payment, f"cancel_{n}")
    assert payment.status is S.CANCELED
    assert payment.balance_amount == 0
    assert [type(e) for e in payment.events] == [
        ev.PaymentPartiallyCanceled,
        ev.PaymentPartiallyCanceled,
        ev.PaymentCanceled,
    ]
    assert [e.sequence for e in payment.events] == [3, 4, 5]


def test_two_cancels_in_flight_complete_in_either_order() -> None:
    payment = payment_in(S.DONE)
    reserved(payment, 6000, "cancel_1")
    reserved(payment, 9000, "cancel_2")
    complete(payment, "cancel_2")
    assert payment.status is S.PARTIAL_CANCELED
    complete(payment, "cancel_1")
    assert payment.status is S.CANCELED
    assert (payment.balance_amount, payment.pending_cancel_amount) == (0, 0)


def test_a_full_cancel_of_a_paid_payment_cancels_it() -> None:
    payment = payment_in(S.DONE)
    reserved(payment, None)
    complete(payment)
    assert payment.status is S.CANCELED
    assert payment.events == [ev.PaymentCanceled(payment_id="pay_test", sequence=3)]


def test_a_refused_cancel_releases_its_reservation_and_keeps_the_balance() -> None:
    payment = payment_in(S.DONE)
    cancel = reserved(payment, 4000)
    failure = Failure("NOT_CANCELABLE_AMOUNT", "취소 할 수 없는 금액 입니다.")
    payment.fail_cancel(cancel.id, failure, LATER)
    assert (cancel.status, cancel.failure) == (CancelStatus.FAILED, failure)
    assert payment.pending_cancel_amount == 0
    assert payment.balance_amount == 15000
    assert payment.status is S.DONE
    assert payment.events == []
    assert not payment.has_unknown_outcome


def test_a_cancel_is_answered_only_once() -> None:
    payment = payment_in(S.DONE)
    reserved(payment, 4000)
    complete(payment)
    with pytest.raises(IllegalTransition):
        complete(payment)
    with pytest.raises(IllegalTransition):
        payment.fail_cancel("cancel_1", Failure("X", "x"), LATER)
    with pytest.raises(IllegalTransition):
        complete(payment, "no_such_cancel")
    assert payment.balance_amount == 11000


def test_a_cancel_can_be_found_by_its_id() -> None:
    payment = payment_in(S.DONE)
    cancel = reserved(payment, 100)
    assert payment.find_cancel("cancel_1") is cancel
    assert payment.find_cancel("cancel_2") is None


def test_a_cancel_asked_against_a_balance_that_has_changed_reserves_nothing() -> None:
    """A form drawn before another cancel (the back button, a second tab) is stale."""
    payment = payment_in(S.DONE, amount=10000)
    reserved(payment, 2000)
    with pytest.raises(BalanceChanged):
        payment.begin_cancel(
            cancel_id="cancel_2",
            reason="again",
            amount=2000,
            idempotency_key="k2",
            has_refund_account=False,
            now=LATER,
            expected_cancelable=10000,
        )
    assert (payment.cancelable_amount, len(payment.cancels)) == (8000, 1)
    again = payment.begin_cancel(
        cancel_id="cancel_3",
        reason="fresh form",
        amount=2000,
        idempotency_key="k3",
        has_refund_account=False,
        now=LATER,
        expected_cancelable=8000,
    )
    assert again is not None and payment.cancelable_amount == 6000
