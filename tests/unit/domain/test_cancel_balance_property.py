"""Whatever order cancels are begun, completed and refused in, the money adds up."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from sunap.domain.errors import ExceedsBalance, NotCancelableStatus
from sunap.domain.payment import CancelStatus, Failure, Payment, PaymentStatus
from tests.fakes.payments import NOW, payment_in

S = PaymentStatus


class CancelMachine(RuleBasedStateMachine):
    payment: Payment

    def __init__(self) -> None:
        super().__init__()
        self.serial = 0

    @initialize(amount=st.integers(1, 1_000_000))
    def paid(self, amount: int) -> None:
        self.payment = payment_in(S.DONE, amount=amount)

    @rule(data=st.data(), full=st.booleans())
    def begin(self, data: st.DataObject, full: bool) -> None:
        self.serial += 1
        amount = None if full else data.draw(st.integers(-1, self.payment.amount + 1))
        available = self.payment.cancelable_amount
        wanted = available if amount is None else amount
        try:
            cancel = self.payment.begin_cancel(
                cancel_id=f"c{self.serial}",
                reason="property",
                amount=amount,
                idempotency_key=f"k{self.serial}",
                has_refund_account=False,
                now=NOW,
            )
        except NotCancelableStatus:
            assert self.payment.status is S.CANCELED
            return
        except ExceedsBalance:
            assert wanted <= 0 or wanted > available
            return
        assert cancel is not None
        assert 0 < cancel.amount == wanted <= available

    @precondition(lambda self: bool(self.payment.pending_cancels))
    @rule(data=st.data())
    def complete(self, data: st.DataObject) -> None:
        cancel = data.draw(st.sampled_from(self.payment.pending_cancels))
        self.payment.complete_cancel(cancel.id, transaction_key="t", canceled_at=NOW, now=NOW)

    @precondition(lambda self: bool(self.payment.pending_cancels))
    @rule(data=st.data())
    def fail(self, data: st.DataObject) -> None:
        cancel = data.draw(st.sampled_from(self.payment.pending_cancels))
        self.payment.fail_cancel(cancel.id, Failure("REFUND_REJECTED", "refused"), NOW)

    @invariant()
    def nothing_is_refunded_twice(self) -> None:
        p = self.payment
        assert 0 <= p.pending_cancel_amount <= p.balance_amount <= p.amount

    @invariant()
    def the_balance_is_the_amount_less_every_completed_cancel(self) -> None:
        p = self.payment
        done = sum(c.amount for c in p.cancels if c.status is CancelStatus.DONE)
        pending = sum(c.amount for c in p.cancels if c.status is CancelStatus.PENDING)
        assert p.balance_amount == p.amount - done
        assert p.pending_cancel_amount == pending

    @invariant()
    def the_status_follows_the_balance(self) -> None:
        p = self.payment
        if p.balance_amount == 0:
            assert p.status is S.CANCELED
        elif p.balance_amount < p.amount:
            assert p.status is S.PARTIAL_CANCELED
        else:
            assert p.status is S.DONE

    @invariant()
    def sequences_rise_by_one(self) -> None:
        sequences = [e.sequence for e in self.payment.events]
        assert sequences == list(range(3, 3 + len(sequences)))


TestCancelBalance = CancelMachine.TestCase
