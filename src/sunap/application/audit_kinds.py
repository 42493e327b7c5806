"""What an audit row is about (its type) and how it ended (its status): every value Sunap writes.

Statuses are a closed set. Types are too, but for two families built from a name: `pg.<operation>`
for a call to the PG (a PgOperation) and `webhook.<eventType>` for a delivery, named by the PG's
own event type (its adapter decides which types are acted on and so reach a payment's trail). Only
pg_call_type() and webhook_type() build those, so a type written is an AuditType or one of them.

Rows read back keep whatever was stored: a value this version has no name for (an older version
wrote it) is read as the plain string, never refused.
"""

from __future__ import annotations

import enum
from typing import NewType, TypeVar

from .ports.gateway import PgOperation, PgOutcome


class AuditStatus(enum.StrEnum):
    # How a PG call ended: each PgOutcome, by the same value (a test holds them together).
    OK = "ok"
    DECLINED = "declined"
    UNKNOWN = "unknown"
    ALREADY_PROCESSED = "already_processed"
    NOT_FOUND = "not_found"
    MISCONFIGURED = "misconfigured"
    # Sunap's own decisions.
    REJECTED = "rejected"  # refused: an amount that does not match, a deposit secret that does not
    DUPLICATE = "duplicate"  # a webhook delivery seen before
    APPLIED = "applied"  # a webhook that changed the payment
    UNCHANGED = "unchanged"  # a webhook that told us nothing new

    @classmethod
    def of(cls, outcome: PgOutcome) -> AuditStatus:
        return cls(outcome.value)


class AuditType(enum.StrEnum):
    PAYMENT_CREATED = "payment.created"
    PAYMENT_EXPIRED = "payment.expired"
    # Past its time to live, but Toss still held it open: the expiry asks Toss again later.
    PAYMENT_EXPIRY_POSTPONED = "payment.expiry_postponed"
    CONFIRM_CLAIMED = "confirm.claimed"
    CONFIRM_AMOUNT_MISMATCH = "confirm.amount_mismatch"
    CONFIRM_RELEASED = "confirm.released"
    # The confirm use case's own call to the PG ended with no answer to go by: written only by it,
    # once its call is over, so a repeated confirm may send the claim again (docs/api.md,
    # Confirm rules, rule 6).
    CONFIRM_UNANSWERED = "confirm.unanswered"
    # The reconciler took up a claim whose own confirm call has no row: the process that sent it
    # stopped before recording its answer (kill -9, a crash), or its answer is late. The PG may
    # have received that call; this row says so, under the Idempotency-Key the claim row names.
    CONFIRM_ANSWER_UNRECORDED = "confirm.answer_unrecorded"
    CANCEL_REQUESTED = "cancel.requested"
    # A pending cancel about to be sent again (the reconciler's replay, the request repeated)
    # whose own call has no row: its process stopped before recording the answer (kill -9, a
    # crash), or the answer is late. The PG may have refunded; this row says so, under the
    # Idempotency-Key the cancel.requested row names (cancel_trail.py).
    CANCEL_ANSWER_UNRECORDED = "cancel.answer_unrecorded"
    CANCEL_LOCAL = "cancel.local"
    # Booked from the PG's record: a cancel made outside Sunap (Toss's console), and a cancel of
    # ours the PG ran for less than it held (a full cancel, after such a refund).
    CANCEL_EXTERNAL = "cancel.external"
    CANCEL_REFUNDED_LESS = "cancel.refunded_less"
    # A pending cancel sent under a secret key the account's owner has since replaced, which
    # Toss's record shows it never carried out: it goes out again under the new key.
    CANCEL_REKEYED = "cancel.rekeyed"
    REVIEW_RESOLVED = "review.resolved"
    RECONCILE_SETTLED = "reconcile.settled"
    BILLING_CHARGE_CLAIMED = "billing.charge_claimed"
    BILLING_KEY_ISSUED = "billing_key.issued"
    BILLING_KEY_DELETED = "billing_key.deleted"
    SUBSCRIPTION_CREATED = "subscription.created"
    SUBSCRIPTION_UPDATED = "subscription.updated"
    SUBSCRIPTION_CANCELED = "subscription.canceled"
    SUBSCRIPTION_PAUSED = "subscription.paused"
    SUBSCRIPTION_RESUMED = "subscription.resumed"
    SUBSCRIPTION_ENDED = "subscription.ended"
    # Changes made by a charge's answer (the scheduler's, a resume's, the reconciler's).
    SUBSCRIPTION_RENEWED = "subscription.renewed"
    SUBSCRIPTION_PAYMENT_FAILED = "subscription.payment_failed"


# A type of the pg. or webhook. family, made by the two functions below only.
FamilyType = NewType("FamilyType", str)

WEBHOOK_PREFIX = "webhook."


def pg_call_type(operation: PgOperation) -> FamilyType:
    return FamilyType(f"pg.{operation}")


def webhook_type(event_type: str) -> FamilyType:
    return FamilyType(f"{WEBHOOK_PREFIX}{event_type}")


E = TypeVar("E", bound=enum.StrEnum)


def read_back(kind: type[E], stored: str) -> E | str:
    """A stored type or status as its member, or as stored when `kind` has none for it."""
    try:
        return kind(stored)
    except ValueError:
        return stored
