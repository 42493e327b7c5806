"""The Payment aggregate: every status change goes through a verb checked against one table."""

from __future__ import annotations

import copy
import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from . import events as ev
from .aggregate import Aggregate, DomainEvent
from .errors import (
    AlreadyProcessedPayment,
    AmountMismatch,
    BalanceChanged,
    ConfirmInProgress,
    ExceedsBalance,
    IllegalTransition,
    InvalidRequest,
    NotCancelableStatus,
    NotConfirmableStatus,
    NotUnderReview,
    PartialCancelNotAllowed,
    RefundAccountRequired,
)


class PaymentStatus(enum.StrEnum):
    READY = "READY"
    IN_PROGRESS = "IN_PROGRESS"
    WAITING_FOR_DEPOSIT = "WAITING_FOR_DEPOSIT"
    DONE = "DONE"
    PARTIAL_CANCELED = "PARTIAL_CANCELED"
    CANCELED = "CANCELED"
    ABORTED = "ABORTED"
    EXPIRED = "EXPIRED"


class PaymentMethod(enum.StrEnum):
    CARD = "CARD"
    VIRTUAL_ACCOUNT = "VIRTUAL_ACCOUNT"
    TRANSFER = "TRANSFER"
    MOBILE_PHONE = "MOBILE_PHONE"
    EASY_PAY = "EASY_PAY"
    GIFT_CERTIFICATE = "GIFT_CERTIFICATE"


S = PaymentStatus
# The only status changes there are. A stale message asking for anything else changes nothing.
TRANSITIONS: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    S.READY: frozenset({S.IN_PROGRESS, S.CANCELED, S.EXPIRED}),
    # IN_PROGRESS -> READY: the PG says the paymentKey was never this order's; nothing happened.
    S.IN_PROGRESS: frozenset({S.READY, S.DONE, S.WAITING_FOR_DEPOSIT, S.ABORTED, S.EXPIRED}),
    S.WAITING_FOR_DEPOSIT: frozenset({S.DONE, S.CANCELED, S.EXPIRED}),
    S.DONE: frozenset({S.PARTIAL_CANCELED, S.CANCELED, S.WAITING_FOR_DEPOSIT}),
    S.PARTIAL_CANCELED: frozenset({S.PARTIAL_CANCELED, S.CANCELED}),
    S.CANCELED: frozenset(),
    S.ABORTED: frozenset(),
    S.EXPIRED: frozenset(),
}
# Outside the table: a payment we closed unpaid (expired, or canceled before anyone paid) that
# Toss approved all the same takes Toss's approval, through `adopt_late_approval` only. No other
# verb reopens it: a caller's confirm of it is refused before anything is sent to the PG.
LATE_APPROVALS: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    S.EXPIRED: frozenset({S.DONE, S.WAITING_FOR_DEPOSIT}),
    S.CANCELED: frozenset({S.DONE, S.WAITING_FOR_DEPOSIT}),
}
PAID = frozenset({S.DONE, S.PARTIAL_CANCELED})
APPROVED = frozenset({S.WAITING_FOR_DEPOSIT, S.DONE, S.PARTIAL_CANCELED, S.CANCELED})
# Approved and not over: Toss may still change such a payment without us (a refund in its
# console, a deposit, a deposit taken back); a lost webhook leaves us behind it.
CHANGEABLE_AT_TOSS = frozenset({S.WAITING_FOR_DEPOSIT, S.DONE, S.PARTIAL_CANCELED})
# Statuses no payment reaches once approved (TRANSITIONS leads into them only from each other):
# a payment in one has never been cancelable, so it has no cancels.
NEVER_APPROVED = frozenset({S.READY, S.IN_PROGRESS})


def can_transition(current: PaymentStatus, target: PaymentStatus) -> bool:
    return target in TRANSITIONS[current]


@dataclass(frozen=True)
class Failure:
    code: str
    message: str


@dataclass(frozen=True)
class CardDetails:
    company: str | None
    number: str | None  # masked as Toss masks it; a full number never reaches the domain
    card_type: str | None
    owner_type: str | None
    installment_plan_months: int | None
    approve_no: str | None


@dataclass(frozen=True)
class VirtualAccountDetails:
    bank: str | None
    account_number: str | None
    customer_name: str | None
    due_date: str | None


@dataclass(frozen=True)
class EasyPayDetails:
    provider: str | None
    amount: int | None
    discount_amount: int | None


@dataclass(frozen=True)
class Approval:
    """What the PG says about an approved payment, in our words."""

    payment_key: str
    status: PaymentStatus  # DONE or WAITING_FOR_DEPOSIT
    method: PaymentMethod | None
    approved_at: datetime | None
    card: CardDetails | None = None
    virtual_account: VirtualAccountDetails | None = None
    easy_pay: EasyPayDetails | None = None
    receipt_url: str | None = None
    deposit_secret_digest: str | None = None


class ConfirmStart(enum.Enum):
    CLAIMED = "claimed"  # go ahead and call the PG
    ALREADY_APPROVED = "already_approved"  # same paymentKey, nothing to do
    ALREADY_FAILED = "already_failed"  # the PG refused this paymentKey before


class CancelStatus(enum.StrEnum):
    PENDING = "PENDING"  # reserved against the balance, PG answer not (yet) known
    DONE = "DONE"
    FAILED = "FAILED"


@dataclass
class Cancel:
    id: str
    amount: int
    reason: str
    status: CancelStatus
    gateway_idempotency_key: str
    requested_at: datetime
    tax_free_amount: int = 0
    canceled_at: datetime | None = None
    transaction_key: str | None = None
    failure: Failure | None = None
    # The PG secret key its call went out under (PaymentGateway.key_id; None: recorded before
    # Sunap kept it). Its Idempotency-Key means this cancel under that secret key only.
    pg_key: str | None = None


@dataclass(eq=False)
class Payment(Aggregate):
    aggregate_type: ClassVar[str] = "payment"
    id: str
    tenant_id: str
    # The PG merchant account the payment lives on. The PG knows orders and payment keys per
    # account, so they are unique per account, and every call about the payment goes there.
    pg_account_id: str
    order_id: str
    order_name: str
    amount: int
    currency: str
    status: PaymentStatus
    balance_amount: int
    created_at: datetime
    updated_at: datetime
    method: PaymentMethod | None = None
    customer_key: str | None = None
    metadata: dict[str, Any] | None = None
    success_url: str | None = None
    fail_url: str | None = None
    payment_key: str | None = None
    requested_at: datetime | None = None
    approved_at: datetime | None = None
    card: CardDetails | None = None
    virtual_account: VirtualAccountDetails | None = None
    easy_pay: EasyPayDetails | None = None
    failure: Failure | None = None
    receipt_url: str | None = None
    deposit_secret_digest: str | None = None  # sha256 of Toss's `secret`; the secret is never kept
    confirm_idempotency_key: str | None = None  # our outbound key, stored before the PG call
    cancels: list[Cancel] = field(default_factory=list)
    pending_cancel_amount: int = 0
    needs_review: bool = False
    review_reason: str | None = None
    # When the reconciler should next ask the PG about an unknown outcome, and how often it has.
    next_reconcile_at: datetime | None = None
    reconcile_attempts: int = 0
    # A READY payment past its time to live that Toss still held open: the expiry asks Toss
    # again then, not before (application/expire_unpaid.py).
    expiry_recheck_at: datetime | None = None
    # A charge of a stored card (a billing key), one-off or a subscription's renewal.
    billing_key_id: str | None = None
    subscription_id: str | None = None
    # Of `amount`, the part free of VAT, sent to the PG with the charge (billing-key charges).
    tax_free_amount: int = 0
    version: int = 0  # bumped on every save; the repository refuses a stale write
    event_sequence: int = 0  # the sequence of the last event recorded
    events: list[DomainEvent] = field(default_factory=list, repr=False)

    # -- creation ---------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        *,
        id: str,
        tenant_id: str,
        pg_account_id: str,
        order_id: str,
        order_name: str,
        amount: int,
        currency: str,
        now: datetime,
        method: PaymentMethod | None = None,
        customer_key: str | None = None,
        metadata: dict[str, Any] | None = None,
        success_url: str | None = None,
        fail_url: str | None = None,
        tax_free_amount: int = 0,
    ) -> Payment:
        if not 0 <= tax_free_amount <= amount:
            raise InvalidRequest("taxFreeAmount must be between 0 and the amount.")
        payment = cls(
            id=id,
            tenant_id=tenant_id,
            pg_account_id=pg_account_id,
            order_id=order_id,
            order_name=order_name,
            amount=amount,
            currency=currency,
            status=S.READY,
            balance_amount=amount,
            created_at=now,
            updated_at=now,
            method=method,
            customer_key=customer_key,
            metadata=metadata,
            success_url=success_url,
            fail_url=fail_url,
            tax_free_amount=tax_free_amount,
        )
        payment._record(ev.PaymentCreated)
        return payment

    # -- confirm ----------------------------------------------------------------------------
    def begin_confirm(
        self, *, payment_key: str, amount: int, idempotency_key: str, now: datetime
    ) -> ConfirmStart:
        """Claim the payment for one PG confirm call, or say why no call is needed."""
        if amount != self.amount:
            raise AmountMismatch(
                f"amount {amount} does not match the payment's amount {self.amount}."
            )
        if self.status in APPROVED and self.payment_key is not None:  # not canceled unpaid
            if payment_key != self.payment_key:
                raise AlreadyProcessedPayment(
                    "The payment was already approved with another paymentKey."
                )
            if self.status in (S.DONE, S.WAITING_FOR_DEPOSIT):
                return ConfirmStart.ALREADY_APPROVED
            # Confirm rule 9 (docs/api.md): a 200 only ever means DONE or WAITING_FOR_DEPOSIT.
            raise NotConfirmableStatus(
                f"The payment was approved and is now {self.status}; it cannot be confirmed again."
            )
        if self.status is S.IN_PROGRESS:
            raise ConfirmInProgress("A confirm of this payment is in progress.")
        if self.status is S.ABORTED and payment_key == self.payment_key:
            return ConfirmStart.ALREADY_FAILED
        if self.status is not S.READY:
            raise NotConfirmableStatus(f"A payment in status {self.status} cannot be confirmed.")
        self._move_to(S.IN_PROGRESS, now)
        self.payment_key = payment_key
        self.requested_at = now
        self.confirm_idempotency_key = idempotency_key
        return ConfirmStart.CLAIMED

    def begin_billing_charge(self, *, idempotency_key: str, now: datetime) -> None:
        """Claim a new billing-key charge for one PG call. The PG gives the paymentKey in its
        answer, so the claim holds only our outbound Idempotency-Key."""
        if self.billing_key_id is None:
            raise IllegalTransition(
                "Only a billing-key charge can be claimed without a paymentKey."
            )
        self._move_to(S.IN_PROGRESS, now)
        self.requested_at = now
        self.confirm_idempotency_key = idempotency_key

    def approve(self, approval: Approval, now: datetime) -> None:
        """The PG approved: DONE, or WAITING_FOR_DEPOSIT for a virtual account."""
        if approval.status not in (S.DONE, S.WAITING_FOR_DEPOSIT):
            raise IllegalTransition(f"An approval cannot leave the payment {approval.status}.")
        if self.status is S.READY:  # approvals we learn of without our own claim (reconciler)
            self._move_to(S.IN_PROGRESS, now)
        self._move_to(approval.status, now)
        self._take_approval(approval)

    @property
    def closed_unpaid(self) -> bool:
        """We closed it while nobody had paid: expired, or canceled before any approval (a
        payment approved once holds its cancels, or its virtual account)."""
        return (
            self.status in LATE_APPROVALS
            and self.approved_at is None
            and self.virtual_account is None
            and not self.cancels
        )

    def adopt_late_approval(self, approval: Approval, reason: str, now: datetime) -> None:
        """Toss approved a payment we had closed unpaid (the order confirmed at Toss directly,
        or in its last minutes): the customer paid, and Toss's record of the money wins. It
        becomes paid as any approval leaves it, with the same event, and is flagged: the
        merchant was told it expired or was canceled, so a person checks the order."""
        if not self.closed_unpaid:
            raise IllegalTransition(
                f"A payment {self.status} that was approved before takes no late approval."
            )
        if approval.status not in LATE_APPROVALS[self.status]:
            raise IllegalTransition(f"An approval cannot leave the payment {approval.status}.")
        self.status = approval.status
        self.updated_at = now
        self.balance_amount = self.amount  # an order canceled unpaid was left with 0
        self.flag_for_review(reason, now)  # before the event, whose data then says so
        self._take_approval(approval)

    def _take_approval(self, approval: Approval) -> None:
        self.payment_key = approval.payment_key
        self.method = approval.method or self.method
        self.approved_at = approval.approved_at
        self.card = approval.card
        self.virtual_account = approval.virtual_account
        self.easy_pay = approval.easy_pay
        self.receipt_url = approval.receipt_url
        if approval.deposit_secret_digest is not None:
            self.deposit_secret_digest = approval.deposit_secret_digest
        self.failure = None
        self._record(
            ev.PaymentCompleted if approval.status is S.DONE else ev.PaymentWaitingForDeposit
        )

    def release_confirm(self, now: datetime) -> None:
        """The PG says the paymentKey of our claim is not this order's (unknown to it, or another
        order's): nothing was approved, so the order waits for its real confirm again."""
        self._move_to(S.READY, now)
        self.payment_key = None
        self.requested_at = None
        self.confirm_idempotency_key = None
        self.schedule_reconcile(None, attempts=0)

    def abort(self, failure: Failure, now: datetime) -> None:
        """The PG definitively refused the approval."""
        self._move_to(S.ABORTED, now)
        self.failure = failure
        self._record(ev.PaymentFailed)

    def expire(self, now: datetime, failure: Failure | None = None) -> None:
        self._move_to(S.EXPIRED, now)
        self.failure = failure
        self._record(ev.PaymentExpired)

    def postpone_expiry(self, until: datetime) -> None:
        """Past its time to live, but the PG may still approve it: the expiry asks again at
        `until`. No status change, so no event."""
        if self.status is not S.READY:
            raise IllegalTransition(
                f"Only a READY payment waits for its expiry, not {self.status}."
            )
        self.expiry_recheck_at = until

    def record_deposit(self, now: datetime, approved_at: datetime | None = None) -> None:
        """The customer paid into the virtual account: approved then (the PG's time of it, when
        it reports one), as a card payment is at its confirm."""
        self.approved_at = approved_at or self.approved_at or now
        self._move_to(S.DONE, now)
        self._record(ev.PaymentCompleted)

    # -- cancel -----------------------------------------------------------------------------
    @property
    def cancelable_amount(self) -> int:
        """What is left to cancel once every cancel still in flight is counted."""
        return self.balance_amount - self.pending_cancel_amount

    def begin_cancel(
        self,
        *,
        cancel_id: str,
        reason: str,
        amount: int | None,
        idempotency_key: str,
        has_refund_account: bool,
        now: datetime,
        tax_free_amount: int = 0,
        expected_cancelable: int | None = None,
        pg_key: str | None = None,
    ) -> Cancel | None:
        """Reserve a cancel against the balance. None: canceled locally, no PG call needed.
        `expected_cancelable`: the cancelable balance the caller decided on; checked here, in
        the reserving write, so no cancel reserved since can slip between check and reserve."""
        if expected_cancelable is not None and expected_cancelable != self.cancelable_amount:
            raise BalanceChanged(
                f"The cancelable balance is {self.cancelable_amount}, not the "
                f"{expected_cancelable} this cancel was asked against; nothing was canceled."
            )
        if self.status is S.READY:
            if amount is not None and amount > self.balance_amount:
                raise ExceedsBalance(
                    f"cancelAmount {amount} exceeds the payment's amount {self.balance_amount}."
                )
            if amount is not None and amount != self.balance_amount:
                raise PartialCancelNotAllowed(
                    "Nobody has paid this payment yet: it can only be canceled whole "
                    "(send no cancelAmount, or the whole amount)."
                )
            self._move_to(S.CANCELED, now)
            self.balance_amount = 0
            self._record(ev.PaymentCanceled, amount=0)  # nothing was paid, nothing goes back
            return None
        if self.status not in (S.DONE, S.PARTIAL_CANCELED, S.WAITING_FOR_DEPOSIT):
            raise NotCancelableStatus(f"A payment in status {self.status} cannot be canceled.")
        available = self.cancelable_amount
        wanted = available if amount is None else amount
        if amount is None and available <= 0:
            raise ExceedsBalance(
                "Nothing is left to cancel: the cancelable balance is 0 "
                f"({self.pending_cancel_amount} in cancels still waiting for the PG's answer)."
            )
        if wanted <= 0 or wanted > available:
            raise ExceedsBalance(
                f"cancelAmount {wanted} exceeds the cancelable balance {available}."
            )
        if self.status is S.WAITING_FOR_DEPOSIT and wanted != self.balance_amount:
            raise PartialCancelNotAllowed(
                "A virtual account waiting for its deposit can only be canceled in full."
            )
        if tax_free_amount > wanted:  # the PG refuses it: nothing to reserve or send
            raise InvalidRequest(
                f"taxFreeAmount {tax_free_amount} is more than the {wanted} this cancel refunds."
            )
        if self.needs_refund_account and not has_refund_account:
            raise RefundAccountRequired(
                "A paid virtual-account payment needs refundReceiveAccount to refund to."
            )
        cancel = Cancel(
            id=cancel_id,
            amount=wanted,
            reason=reason,
            status=CancelStatus.PENDING,
            gateway_idempotency_key=idempotency_key,
            requested_at=now,
            tax_free_amount=tax_free_amount,
            pg_key=pg_key,
        )
        self.cancels.append(cancel)
        self.pending_cancel_amount += wanted
        self.updated_at = now
        return cancel

    def complete_cancel(
        self, cancel_id: str, *, transaction_key: str | None, canceled_at: datetime, now: datetime
    ) -> None:
        cancel = self._pending_cancel(cancel_id)
        target = S.CANCELED if cancel.amount == self.balance_amount else S.PARTIAL_CANCELED
        self._move_to(target, now)
        cancel.status = CancelStatus.DONE
        cancel.transaction_key = transaction_key
        cancel.canceled_at = canceled_at
        self.pending_cancel_amount -= cancel.amount
        self.balance_amount -= cancel.amount
        self._record(
            ev.PaymentCanceled if target is S.CANCELED else ev.PaymentPartiallyCanceled,
            amount=cancel.amount,
        )

    def reduce_cancel(self, cancel_id: str, refunded: int, now: datetime) -> None:
        """The PG refunded less than this pending cancel holds: a full cancel is sent without an
        amount, and the PG cancels what it has left, less than we knew of when a refund was made
        elsewhere (Toss's console) that we had not yet heard of. The cancel is what the PG
        refunded; the rest of what it held is free again, for the PG's other cancel to be
        booked in."""
        cancel = self._pending_cancel(cancel_id)
        if not 0 < refunded <= cancel.amount:
            raise IllegalTransition(
                f"Cancel {cancel_id} holds {cancel.amount}; it cannot become {refunded}."
            )
        self.pending_cancel_amount -= cancel.amount - refunded
        cancel.amount = refunded
        self.updated_at = now

    def fail_cancel(self, cancel_id: str, failure: Failure, now: datetime) -> None:
        """The PG refused the cancel: release the reservation, the balance is unchanged."""
        cancel = self._pending_cancel(cancel_id)
        cancel.status = CancelStatus.FAILED
        cancel.failure = failure
        self.pending_cancel_amount -= cancel.amount
        self.updated_at = now

    def send_cancel_under(self, cancel_id: str, pg_key: str, now: datetime) -> None:
        """A pending cancel the PG never carried out goes out under another secret key of the
        account from now on (its own was replaced): under that one its Idempotency-Key is new."""
        self._pending_cancel(cancel_id).pg_key = pg_key
        self.updated_at = now

    def find_cancel(self, cancel_id: str) -> Cancel | None:
        return next((c for c in self.cancels if c.id == cancel_id), None)

    @property
    def pending_cancels(self) -> list[Cancel]:
        return [c for c in self.cancels if c.status is CancelStatus.PENDING]

    # -- operations -------------------------------------------------------------------------
    def flag_for_review(self, reason: str, now: datetime) -> None:
        """Nothing automatic could settle this payment: a person must look."""
        self.needs_review = True
        self.review_reason = reason
        self.updated_at = now

    def require_review(self, reason: str, now: datetime) -> None:
        """As `flag_for_review`, for a payment whose consumers already acted on what it said
        (shipped on `payment.completed`): the flag alone reaches the dashboard and the alert,
        never them, so it brings `payment.review_required`."""
        self.flag_for_review(reason, now)
        self._record(ev.PaymentReviewRequired)

    def resolve_review(self, note: str, now: datetime) -> str:
        """A person looked and settled the matter (recorded in the audit trail with `note`);
        returns the reason the payment was flagged for. A PG outcome still unknown (a confirm
        or a cancel never answered) is asked about again at once, with the reconciler's whole
        schedule ahead: nothing else would ever settle it once it had been handed to a person."""
        if not self.needs_review:
            raise NotUnderReview("The payment is not waiting for a review.")
        if not note.strip():
            raise InvalidRequest("Say in a note how the review was resolved.")
        reason = self.review_reason or ""
        self.needs_review = False
        self.review_reason = None
        self.updated_at = now
        if self.has_unknown_outcome:
            self.schedule_reconcile(now, attempts=0)
        return reason

    def schedule_reconcile(self, at: datetime | None, *, attempts: int | None = None) -> None:
        """When to next ask the PG about an unknown outcome (None: nothing left to ask)."""
        self.next_reconcile_at = at
        if attempts is not None:
            self.reconcile_attempts = attempts

    @property
    def deposit_due_at(self) -> datetime | None:
        """When a virtual account waiting for its deposit falls due (None: not such a payment)."""
        if self.status is not S.WAITING_FOR_DEPOSIT or self.virtual_account is None:
            return None
        due = self.virtual_account.due_date
        try:
            return datetime.fromisoformat(due) if due else None
        except ValueError:
            return None

    @property
    def needs_refund_account(self) -> bool:
        """A paid virtual account: the PG refunds it only to an account the customer names."""
        return self.method is PaymentMethod.VIRTUAL_ACCOUNT and self.status in PAID

    @property
    def has_unknown_outcome(self) -> bool:
        return self.status is S.IN_PROGRESS or bool(self.pending_cancels)

    # -- internals --------------------------------------------------------------------------
    def _pending_cancel(self, cancel_id: str) -> Cancel:
        cancel = self.find_cancel(cancel_id)
        if cancel is None or cancel.status is not CancelStatus.PENDING:
            raise IllegalTransition(f"No pending cancel {cancel_id} on payment {self.id}.")
        return cancel

    def _move_to(self, target: PaymentStatus, now: datetime) -> None:
        if not can_transition(self.status, target):
            raise IllegalTransition(f"{self.status} -> {target} is not a legal transition.")
        self.status = target
        self.updated_at = now
        if target is not S.READY:
            self.expiry_recheck_at = None  # only a READY payment waits for its expiry

    def _record(self, event_type: type[ev.PaymentEvent], amount: int | None = None) -> None:
        """`amount`: the money the event is about, the payment's amount unless said otherwise.
        The event keeps the payment as it leaves it: one commit may hold several events (two
        cancels adopted at once), and each one's `data` must agree with its type."""
        amount = self.amount if amount is None else amount
        sequence = self._next_sequence()
        self.events.append(
            event_type(payment_id=self.id, sequence=sequence, amount=amount, state=self._snapshot())
        )

    def _snapshot(self) -> Payment:
        snapshot = copy.copy(self)
        snapshot.cancels = [copy.copy(cancel) for cancel in self.cancels]  # changed in place
        snapshot.events = []
        return snapshot
