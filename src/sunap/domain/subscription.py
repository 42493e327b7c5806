"""The Subscription aggregate: a plan charged to a billing key once per period, with dunning.

Charges are numbered: `charge_serial` counts the periods charged for and `charge_attempts` the
attempts made at the current one; neither goes back within a period, so the orderId and the PG
Idempotency-Key derived from (subscription, serial, attempt) are never reused. `failed_attempts`
counts the refusals that the dunning schedule goes by: a resume starts it over, not the
attempts. Period boundaries are counted from `anchor` (periods.py); a resume starts a new anchor
at `anchor_serial`.
"""

from __future__ import annotations

import copy
import enum
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from . import events as ev
from .aggregate import Aggregate, DomainEvent
from .errors import IllegalTransition, SubscriptionNotChangeable
from .periods import Interval, boundary


class SubscriptionStatus(enum.StrEnum):
    INCOMPLETE = "INCOMPLETE"  # the first charge's outcome is not known yet
    TRIALING = "TRIALING"
    ACTIVE = "ACTIVE"
    PAST_DUE = "PAST_DUE"  # a charge was refused; retrying on the dunning schedule
    PAUSED = "PAUSED"
    CANCELED = "CANCELED"
    UNPAID = "UNPAID"  # retries exhausted; kept for the merchant to decide


class FinalDunning(enum.StrEnum):
    CANCEL = "cancel"
    UNPAID = "unpaid"


class CancelReason(enum.StrEnum):
    FIRST_CHARGE_FAILED = "FIRST_CHARGE_FAILED"
    PAYMENT_FAILED = "PAYMENT_FAILED"
    BILLING_KEY_DELETED = "BILLING_KEY_DELETED"


S = SubscriptionStatus
TRANSITIONS: dict[SubscriptionStatus, frozenset[SubscriptionStatus]] = {
    S.INCOMPLETE: frozenset({S.ACTIVE, S.CANCELED}),
    S.TRIALING: frozenset({S.ACTIVE, S.PAST_DUE, S.PAUSED, S.CANCELED}),
    S.ACTIVE: frozenset({S.ACTIVE, S.PAST_DUE, S.PAUSED, S.CANCELED}),
    S.PAST_DUE: frozenset({S.ACTIVE, S.PAST_DUE, S.PAUSED, S.CANCELED, S.UNPAID}),
    S.PAUSED: frozenset({S.ACTIVE, S.CANCELED}),
    S.UNPAID: frozenset({S.ACTIVE, S.CANCELED}),
    S.CANCELED: frozenset(),
}
# Statuses whose next charge the scheduler makes when it falls due.
CHARGEABLE = frozenset({S.INCOMPLETE, S.TRIALING, S.ACTIVE, S.PAST_DUE})
LIVE = frozenset(set(S) - {S.CANCELED})


# The shape of `ChargeRef.order_id`. Reserved: a payment created with one could take a charge's
# orderId before the charge, and on a shared PG account another tenant's.
CHARGE_ORDER_ID = re.compile(r"sub_[0-9A-Za-z]+-p[0-9]+-a[0-9]+")


def is_charge_order_id(order_id: str) -> bool:
    return CHARGE_ORDER_ID.fullmatch(order_id) is not None


@dataclass(frozen=True)
class ChargeRef:
    """Which charge this is: the period it pays for and the attempt at it."""

    subscription_id: str
    serial: int
    attempt: int

    @property
    def order_id(self) -> str:
        return f"{self.subscription_id}-p{self.serial}-a{self.attempt}"

    @property
    def idempotency_key(self) -> str:
        return f"sunap-charge-{self.order_id}"


@dataclass(frozen=True)
class Dunning:
    retry_days: tuple[int, ...]  # days after the first refusal
    final: FinalDunning


@dataclass(eq=False)
class Subscription(Aggregate):
    aggregate_type: ClassVar[str] = "subscription"
    id: str
    tenant_id: str
    pg_account_id: str
    customer_key: str
    billing_key_id: str
    plan: str
    order_name: str
    amount: int
    currency: str
    interval: Interval
    interval_count: int
    status: SubscriptionStatus
    anchor: datetime
    current_period_start: datetime
    current_period_end: datetime
    next_charge_at: datetime | None
    created_at: datetime = field(kw_only=True)
    updated_at: datetime = field(kw_only=True)
    trial_end: datetime | None = None
    anchor_serial: int = 0
    charge_serial: int = 0  # the period the next charge pays for
    charge_attempts: int = 0  # attempts claimed at that period, whatever became of them
    failed_attempts: int = 0  # refusals since the period fell due or was resumed: dunning's count
    first_refused_at: datetime | None = None
    charging_payment_id: str | None = None  # a charge claimed and not yet settled
    latest_payment_id: str | None = None
    cancel_at_period_end: bool = False
    canceled_at: datetime | None = None
    cancel_reason: str | None = None
    metadata: dict[str, Any] | None = None
    version: int = 0
    event_sequence: int = 0
    events: list[DomainEvent] = field(default_factory=list, repr=False)

    # -- creation ---------------------------------------------------------------------------
    @classmethod
    def start(
        cls,
        *,
        id: str,
        tenant_id: str,
        pg_account_id: str,
        customer_key: str,
        billing_key_id: str,
        plan: str,
        order_name: str,
        amount: int,
        currency: str,
        interval: Interval,
        interval_count: int,
        trial_days: int,
        metadata: dict[str, Any] | None,
        now: datetime,
        zone: ZoneInfo,
    ) -> Subscription:
        """With a trial: TRIALING until its end, when the first period starts and is charged.
        Without: INCOMPLETE, the first period starting now and due now."""
        trial_end = now + timedelta(days=trial_days) if trial_days else None
        anchor = trial_end or now
        sub = cls(
            id=id,
            tenant_id=tenant_id,
            pg_account_id=pg_account_id,
            customer_key=customer_key,
            billing_key_id=billing_key_id,
            plan=plan,
            order_name=order_name,
            amount=amount,
            currency=currency,
            interval=interval,
            interval_count=interval_count,
            status=S.TRIALING if trial_end else S.INCOMPLETE,
            anchor=anchor,
            current_period_start=now,
            current_period_end=trial_end or boundary(anchor, interval, interval_count, 1, zone),
            next_charge_at=anchor,
            trial_end=trial_end,
            metadata=metadata,
            created_at=now,
            updated_at=now,
        )
        sub._record(ev.SubscriptionCreated)
        return sub

    # -- charges ----------------------------------------------------------------------------
    def is_due(self, now: datetime) -> bool:
        """A charge is to be claimed now: never while one is in flight, nor for a subscription
        canceled at its period end (it ends there instead, `has_run_out`)."""
        return (
            self.status in CHARGEABLE
            and self.charging_payment_id is None
            and not self.ends_at_period_end_instead_of_renewing
            and self.next_charge_at is not None
            and self.next_charge_at <= now
        )

    @property
    def ends_at_period_end_instead_of_renewing(self) -> bool:
        """A cancel at period end was taken and the subscription has not ended yet."""
        return self.cancel_at_period_end and self.status in (S.ACTIVE, S.TRIALING)

    def has_run_out(self, now: datetime) -> bool:
        """Canceled at its period end, that end has come, and no charge is in flight: it ends
        now. A renewal claimed before the cancel was taken decides instead, when it settles:
        paid, it pays the period that ends next, which ends this way; refused, it ends the
        subscription (`charge_refused`). Ended under it, the customer was charged for a
        subscription the merchant had been told was CANCELED."""
        return (
            self.ends_at_period_end_instead_of_renewing
            and self.charging_payment_id is None
            and now >= self.current_period_end
        )

    def next_charge(self) -> ChargeRef:
        return ChargeRef(self.id, self.charge_serial, self.charge_attempts + 1)

    def begin_charge(self, payment_id: str, now: datetime) -> ChargeRef:
        """Claim the due charge for one payment; a second claim is refused until it settles."""
        if not self.is_due(now):
            raise IllegalTransition(f"Subscription {self.id} has no charge due.")
        charge = self.next_charge()
        self.charging_payment_id = payment_id
        self.latest_payment_id = payment_id
        self.charge_attempts = charge.attempt
        self.updated_at = now
        return charge

    def charge_succeeded(self, payment_id: str, now: datetime, zone: ZoneInfo) -> bool:
        """The period was paid: it becomes the current period and the next one falls due at
        its end. False when the subscription ended meanwhile and the charge pays for nothing."""
        if not self._settles(payment_id, now):
            return False
        index = self.charge_serial - self.anchor_serial
        self.current_period_start = self._boundary(index, zone)
        self.current_period_end = self._boundary(index + 1, zone)
        self.next_charge_at = self.current_period_end
        self.charge_serial += 1
        self.charge_attempts = 0
        self.failed_attempts = 0
        self.first_refused_at = None
        self._move_to(S.ACTIVE, now)
        self._record(ev.SubscriptionRenewed)
        return True

    def charge_refused(self, payment_id: str, now: datetime, dunning: Dunning) -> bool:
        """A refusal: the first charge's ends the subscription; a later one starts or continues
        dunning, and the last retry's ends it as `dunning.final` says. A renewal refused after
        a cancel at period end was taken under it ends it at that end, as the scheduler would
        have: no retry charges a period the merchant canceled. False when the subscription
        ended meanwhile and the refusal changes nothing."""
        if not self._settles(payment_id, now):
            return False
        if self.status is S.INCOMPLETE or self.cancel_at_period_end:
            self._refused_for_good(now)
            return True
        self.failed_attempts += 1
        self.first_refused_at = self.first_refused_at or now
        retrying = self.failed_attempts <= len(dunning.retry_days)
        if retrying:
            retry_in = timedelta(days=dunning.retry_days[self.failed_attempts - 1])
            self.next_charge_at = self.first_refused_at + retry_in
        else:
            self.next_charge_at = None
        # The refusal as it left the subscription (its retry, or none left), before the status
        # it brings: each event's data is the subscription as that event left it.
        self._record(ev.SubscriptionPaymentFailed)
        if retrying:
            if self.status is not S.PAST_DUE:
                self._move_to(S.PAST_DUE, now)
                self._record(ev.SubscriptionPastDue)
            return True
        if dunning.final is FinalDunning.UNPAID:
            self._move_to(S.UNPAID, now)
            self._record(ev.SubscriptionUpdated)
        else:
            self._cancel(CancelReason.PAYMENT_FAILED, now)
        return True

    def _refused_for_good(self, now: datetime) -> None:
        """A refusal no retry follows ends the subscription. Like every refusal it is recorded
        first, as it left the subscription (no next charge, in the status it had), then the
        cancel it brings: before, only the cancel was, and a consumer counting refused charges
        from `subscription.payment_failed` missed these."""
        self.next_charge_at = None
        self._record(ev.SubscriptionPaymentFailed)
        if self.status is S.INCOMPLETE:
            self._cancel(CancelReason.FIRST_CHARGE_FAILED, now)
        else:
            self._cancel(self.cancel_reason, now, at=min(now, self.current_period_end))

    def _settles(self, payment_id: str, now: datetime) -> bool:
        """Release the claim of `payment_id`; False when the subscription ended meanwhile (the
        payment keeps its own record; the subscription stays as it is)."""
        if self.charging_payment_id != payment_id:
            raise IllegalTransition(f"Payment {payment_id} is not subscription {self.id}'s charge.")
        self.charging_payment_id = None
        self.updated_at = now
        return self.status in CHARGEABLE

    # -- the merchant's changes -------------------------------------------------------------
    def change(
        self,
        now: datetime,
        *,
        plan: str | None = None,
        amount: int | None = None,
        order_name: str | None = None,
        billing_key_id: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Takes effect from the next charge; nothing is prorated. A change to nothing new
        is no change: no event."""
        self._require_live("changed")
        wanted = {
            "plan": plan,
            "amount": amount,
            "order_name": order_name,
            "billing_key_id": billing_key_id,
            "metadata": metadata,
        }
        if all(value is None or value == getattr(self, name) for name, value in wanted.items()):
            return
        self.plan = plan if plan is not None else self.plan
        self.amount = amount if amount is not None else self.amount
        self.order_name = order_name if order_name is not None else self.order_name
        self.billing_key_id = billing_key_id or self.billing_key_id
        self.metadata = metadata if metadata is not None else self.metadata
        self.updated_at = now
        self._record(ev.SubscriptionUpdated)

    def cancel(self, now: datetime, *, reason: str | None, at_period_end: bool) -> None:
        self._require_live("canceled")
        if at_period_end and self.status in (S.ACTIVE, S.TRIALING):
            self.cancel_at_period_end = True
            self.cancel_reason = reason
            self.updated_at = now
            self._record(ev.SubscriptionUpdated)
            return
        self._refuse_while_charging("canceled now")
        self._cancel(reason, now)

    def end_at_period_end(self, now: datetime) -> None:
        """The period of a subscription canceled at its end is over: CANCELED at that end, no
        charge. Refused while a charge is in flight (`has_run_out`)."""
        if not self.has_run_out(now):
            raise IllegalTransition(
                f"Subscription {self.id} does not end now: not canceled at period end, its "
                "period not over, or a charge of it is waiting for the payment gateway's answer."
            )
        self._cancel(self.cancel_reason, now, at=min(now, self.current_period_end))

    def billing_key_deleted(self, now: datetime) -> None:
        if self.status in LIVE:
            self._cancel(CancelReason.BILLING_KEY_DELETED, now)

    def pause(self, now: datetime) -> None:
        if self.status not in (S.TRIALING, S.ACTIVE, S.PAST_DUE):
            raise SubscriptionNotChangeable(f"A {self.status} subscription cannot be paused.")
        self._refuse_while_charging("paused")
        self._move_to(S.PAUSED, now)
        self.next_charge_at = None
        self._record(ev.SubscriptionPaused)

    def resume(self, now: datetime, zone: ZoneInfo) -> bool:
        """PAUSED or UNPAID: a new period starts now and is due at once (True). Canceled at
        period end, before that end: the cancel is undone, reason included, and nothing is due
        (False): the period already paid goes on and renews at its end as before the cancel;
        after it, the subscription has ended, whenever the scheduler gets to it. Like the
        period-end cancel, its undoing is taken while a renewal waits for the PG's answer."""
        if self.ends_at_period_end_instead_of_renewing:
            # Ended there (only the scheduler is late), unless a renewal claimed before the
            # cancel still waits for the PG: that charge decides, and the undo is taken.
            if self.has_run_out(now):
                raise SubscriptionNotChangeable(
                    "Its period ended while it was canceled at period end: the subscription "
                    "has ended and cannot be resumed."
                )
            self.cancel_at_period_end = False
            self.cancel_reason = None
            self.updated_at = now
            self._record(ev.SubscriptionResumed)
            return False
        if self.status not in (S.PAUSED, S.UNPAID):
            raise SubscriptionNotChangeable(
                f"Only a PAUSED or UNPAID subscription, or one canceled at period end, can be "
                f"resumed; this one is {self.status}."
            )
        self._refuse_while_charging("resumed")
        self._move_to(S.ACTIVE, now)
        self.anchor = now
        self.anchor_serial = self.charge_serial
        self.current_period_start = now
        self.current_period_end = self._boundary(1, zone)
        self.next_charge_at = now
        # Dunning starts over; the attempt count does not: this period's refused attempts keep
        # their orderIds at the PG, so the resume's charge is the next attempt, not the first.
        self.failed_attempts = 0
        self.first_refused_at = None
        if self.cancel_at_period_end:  # the cancellation is undone, and its reason with it
            self.cancel_at_period_end = False
            self.cancel_reason = None
        self._record(ev.SubscriptionResumed)
        return True

    # -- internals --------------------------------------------------------------------------
    def _boundary(self, periods: int, zone: ZoneInfo) -> datetime:
        return boundary(self.anchor, self.interval, self.interval_count, periods, zone)

    def _require_live(self, verb: str) -> None:
        if self.status is S.CANCELED:
            raise SubscriptionNotChangeable(f"A canceled subscription cannot be {verb}.")

    def _refuse_while_charging(self, verb: str) -> None:
        """A charge claimed and not yet settled pays for the period it was claimed for: paused
        or canceled under it, the customer would pay for a period never given, and a resume
        would claim that period's orderId again."""
        if self.charging_payment_id is not None:
            raise SubscriptionNotChangeable(
                f"A charge of this subscription (payment {self.charging_payment_id}) is still "
                f"waiting for the payment gateway's answer: it cannot be {verb} until that charge "
                "is settled. Try again in a moment."
            )

    def _cancel(self, reason: str | None, now: datetime, *, at: datetime | None = None) -> None:
        self._move_to(S.CANCELED, now)
        self.canceled_at = at or now
        self.cancel_reason = reason
        self.next_charge_at = None
        self._record(ev.SubscriptionCanceled)

    def _move_to(self, target: SubscriptionStatus, now: datetime) -> None:
        if target not in TRANSITIONS[self.status]:
            raise IllegalTransition(f"{self.status} -> {target} is not a legal transition.")
        self.status = target
        self.updated_at = now

    def _record(self, event_type: type[ev.SubscriptionEvent]) -> None:
        """The event keeps the subscription as it leaves it: one commit may hold several events
        (a last refused retry: `payment_failed`, then `canceled`), each with its own state."""
        sequence = self._next_sequence()
        self.events.append(
            event_type(subscription_id=self.id, sequence=sequence, state=self._snapshot())
        )

    def _snapshot(self) -> Subscription:
        snapshot = copy.copy(self)
        snapshot.metadata = None if self.metadata is None else dict(self.metadata)
        snapshot.events = []
        return snapshot
