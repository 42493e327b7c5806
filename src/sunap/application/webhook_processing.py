"""Apply stored webhook deliveries: never from the body, always from the PG's own answer.

A delivery names a payment; the processor asks the PG for that payment and adopts what the PG
says, forward only (adopt.py), so duplicates and deliveries out of order converge on the PG's
state. A PG that cannot be reached leaves the delivery to be retried later, and after
MAX_ATTEMPTS it is FAILED, for an operator to look at and replay (`sunap webhooks replay ID`).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sunap.domain.errors import PaymentKeyTaken
from sunap.domain.payment import Payment, PaymentStatus

from . import audit
from .adopt import next_check_at, secret_digest
from .audit_kinds import AuditStatus, webhook_type
from .billing_keys import forget_billing_key
from .deps import Deps
from .errors import StaleAggregate, UnknownPgAccount
from .outcomes import adopt_or_flag
from .ports.gateway import GatewayError, GatewayPayment, PgOperation
from .ports.unit_of_work import UnitOfWork
from .ports.webhook_format import NoticeKind, WebhookMalformed, WebhookNotice
from .ports.webhook_inbox import DeliveryStatus, WebhookDelivery, WebhookInbox
from .webhook_lookups import Answer, AskLater, PgLookups

log = logging.getLogger("sunap.webhooks")

LEASE = timedelta(seconds=60)
FIRST_RETRY = timedelta(seconds=5)
LAST_RETRY = timedelta(minutes=30)
MAX_ATTEMPTS = 10
D = DeliveryStatus
# Told how each processed delivery was settled (not of those left to be tried again).
OnSettled = Callable[[WebhookDelivery, DeliveryStatus], None]


@dataclass(frozen=True)
class Outcome:
    status: DeliveryStatus
    payment_id: str | None = None
    note: str | None = None


class _Retry(Exception):
    """Processing could not finish now (PG unreachable, a concurrent change): try again later,
    after `after` seconds if given, else on the backoff schedule."""

    def __init__(self, reason: str, after: float | None = None) -> None:
        super().__init__(reason)
        self.after = after


async def process_due_webhooks(
    inbox: WebhookInbox,
    deps: Deps,
    lookups: PgLookups | None = None,
    limit: int = 20,
    on_settled: OnSettled | None = None,
) -> int:
    now = deps.clock.now()
    lookups = lookups or PgLookups(deps.clock.now)
    deliveries = await inbox.claim_due(now, now + LEASE, limit)
    for delivery in deliveries:
        status = await process_delivery(delivery, inbox, deps, lookups)
        if on_settled is not None and status is not D.RECEIVED:
            on_settled(delivery, status)
    return len(deliveries)


async def process_delivery(
    delivery: WebhookDelivery, inbox: WebhookInbox, deps: Deps, lookups: PgLookups
) -> DeliveryStatus:
    """Process one claimed delivery and settle it; never raises for one bad delivery. Returns
    the status it was left in (RECEIVED: it is to be tried again later)."""
    try:
        outcome = await _apply(delivery, deps, lookups)
    except _Retry as retry:
        return await _retry_later(delivery, inbox, deps, str(retry), retry.after)
    except Exception as error:  # a bug must not stop the other deliveries; keep it visible
        log.exception("webhook delivery %s could not be processed", delivery.id)
        return await _retry_later(delivery, inbox, deps, f"{type(error).__name__}: {error}")
    await inbox.settle(
        delivery.id,
        status=outcome.status,
        now=deps.clock.now(),
        payment_id=outcome.payment_id,
        error=outcome.note,
        body=_kept_after(delivery, outcome.status, deps),
    )
    return outcome.status


def _kept_after(delivery: WebhookDelivery, status: DeliveryStatus, deps: Deps) -> bytes | None:
    """What is kept of a delivery settled as `status`, if not all of it: one that named nothing
    of ours, or that the PG disowned, is cut down to what is read of it. Anyone may send such a
    delivery, with no key and near the size limit; kept whole for the retention's 90 days, a
    flood of them fills the disk (found by the contract audit: 100 requests, 23 MB)."""
    if status not in (D.UNMATCHED, D.REJECTED):
        return None
    try:
        return deps.webhook_format.trimmed_body(delivery.body)
    except ValueError:  # not JSON: stored by hand or by an older intake; left as it is
        return None


def retry_delay(attempts: int) -> timedelta:
    """5 s, 10 s, 20 s … capped at 30 minutes."""
    doublings = min(max(attempts - 1, 0), 16)
    return min(FIRST_RETRY * (1 << doublings), LAST_RETRY)


async def _retry_later(
    delivery: WebhookDelivery,
    inbox: WebhookInbox,
    deps: Deps,
    reason: str,
    after: float | None = None,
) -> DeliveryStatus:
    now = deps.clock.now()
    if delivery.attempts >= MAX_ATTEMPTS:
        log.error("webhook delivery %s failed %d times: %s", delivery.id, delivery.attempts, reason)
        await inbox.settle(delivery.id, status=D.FAILED, now=now, error=reason)
        return D.FAILED
    await inbox.settle(
        delivery.id,
        status=D.RECEIVED,
        now=now,
        error=reason,
        retry_at=now + (timedelta(seconds=after) if after else retry_delay(delivery.attempts)),
    )
    return D.RECEIVED


async def _apply(delivery: WebhookDelivery, deps: Deps, lookups: PgLookups) -> Outcome:
    try:
        notice = deps.webhook_format.read_kept(delivery.body)
    except WebhookMalformed as malformed:  # stored by an older intake, or edited by hand
        return Outcome(D.REJECTED, note=str(malformed))
    try:
        gateway = await deps.accounts.gateway(delivery.pg_account_id)
    except UnknownPgAccount as unknown:
        return Outcome(D.UNMATCHED, note=str(unknown))

    async def fetch(key: str, *, by_order: bool) -> Answer:
        try:
            return await lookups.truth(
                gateway,
                delivery.pg_account_id,
                key,
                by_order=by_order,
                claimed_status=notice.reported_status,
                claimed_transaction_key=notice.transaction_key,
                received_at=delivery.received_at,
            )
        except AskLater as later:
            raise _Retry(str(later), after=later.after) from later
        except GatewayError as error:
            raise _Retry(f"PG lookup failed: {type(error).__name__} {error.code}") from error

    if notice.kind in (NoticeKind.PAYMENT_CHANGED, NoticeKind.CANCEL_CHANGED):
        if notice.payment_key is None:
            return Outcome(D.IGNORED, note="names no paymentKey")
        if await _names_ours(delivery.pg_account_id, notice.payment_key, None, deps):
            answer = await fetch(notice.payment_key, by_order=False)
            if answer.truth is None:
                return Outcome(D.UNMATCHED, note="the PG does not know this payment")
            return await _adopt(delivery, notice, answer, deps)
        if notice.kind is NoticeKind.PAYMENT_CHANGED and await _awaits_payment(
            delivery.pg_account_id, notice.order_id, deps
        ):
            assert notice.order_id is not None
            return await _adopt_unclaimed(
                delivery, notice, await fetch(notice.order_id, by_order=True), deps
            )
        return Outcome(
            D.UNMATCHED, note="no payment of ours has this paymentKey or orderId; Toss not asked"
        )
    if notice.kind is NoticeKind.DEPOSIT:
        assert notice.order_id is not None
        if not await _names_ours(delivery.pg_account_id, None, notice.order_id, deps):
            return Outcome(D.UNMATCHED, note="no payment of ours has this orderId; Toss not asked")
        answer = await fetch(notice.order_id, by_order=True)
        if answer.truth is None:
            return Outcome(D.UNMATCHED, note="the PG does not know this order")
        if not _same_secret(notice, answer.truth):
            return await _reject_deposit(delivery, notice, answer.truth, deps)
        return await _adopt(delivery, notice, answer, deps)
    if notice.kind is NoticeKind.BILLING_KEY_DELETED:
        return await _billing_deleted(delivery, notice, deps)
    return Outcome(D.IGNORED, note=f"{notice.event_type} is recorded, not acted on")


async def _names_ours(
    pg_account_id: str, payment_key: str | None, order_id: str | None, deps: Deps
) -> bool:
    """Whether a payment of ours on the account has this paymentKey (or orderId). Only such a
    payment can take what Toss answers (`_adopt` finds it by the same key), so a notice naming
    none of ours costs no look-up: made-up keys sent by anyone must not spend the account's
    calls to Toss, one each."""
    async with deps.read_uow() as uow:
        if payment_key is not None:
            return await uow.payments.get_by_payment_key(pg_account_id, payment_key) is not None
        assert order_id is not None
        return await uow.payments.get_by_account_order(pg_account_id, order_id) is not None


async def _awaits_payment(pg_account_id: str, order_id: str | None, deps: Deps) -> bool:
    """Whether the orderId names a payment of ours on the account that Toss may have approved
    without us: still waiting for its approval (READY, or IN_PROGRESS under another paymentKey),
    or closed by us unpaid (EXPIRED, or CANCELED before anyone paid). Toss may approve it all
    the same: confirmed at Toss directly, or after a database restore forgot our confirm. Such a
    payment holds no paymentKey, or not this one, so `_names_ours` cannot find it by the key."""
    if order_id is None:
        return False
    async with deps.read_uow() as uow:
        payment = await uow.payments.get_by_account_order(pg_account_id, order_id)
    return payment is not None and (
        payment.status in (PaymentStatus.READY, PaymentStatus.IN_PROGRESS) or payment.closed_unpaid
    )


async def _adopt_unclaimed(
    delivery: WebhookDelivery, notice: WebhookNotice, answer: Answer, deps: Deps
) -> Outcome:
    """A status change of a payment Toss holds for an order of ours waiting for its approval:
    adopted only if Toss's own record of the order carries the delivery's paymentKey."""
    truth = answer.truth
    if truth is None:
        return Outcome(D.UNMATCHED, note="the PG does not know this order")
    if not hmac.compare_digest(truth.payment_key, notice.payment_key or ""):
        return Outcome(D.REJECTED, note="the PG's payment of this order has another paymentKey")
    return await _adopt(delivery, notice, answer, deps, by_order=True)


async def _billing_deleted(delivery: WebhookDelivery, notice: WebhookNotice, deps: Deps) -> Outcome:
    """The PG deleted a billing key: so do we, and its live subscriptions end. The key is found
    by its digest (the delivery is stored with the digest only) within the sending account."""
    assert notice.billing_key_digest is not None
    async with deps.uow() as uow:
        key = await uow.billing_keys.get_by_digest(
            delivery.pg_account_id, notice.billing_key_digest
        )
    if key is None:
        return Outcome(D.UNMATCHED, note="no billing key of ours")
    await forget_billing_key(key.id, deps, webhook_type(notice.event_type))
    return Outcome(D.APPLIED, payment_id=key.id)


def _same_secret(notice: WebhookNotice, truth: GatewayPayment) -> bool:
    if truth.deposit_secret is None or notice.secret_digest is None:
        return False
    return hmac.compare_digest(notice.secret_digest, secret_digest(truth.deposit_secret))


async def _adopt(
    delivery: WebhookDelivery,
    notice: WebhookNotice,
    answer: Answer,
    deps: Deps,
    *,
    by_order: bool = False,
) -> Outcome:
    """Apply the PG's truth to the payment of this account it names (by its paymentKey, or
    `by_order`: by its orderId, for a payment not holding that key yet). A delivery that made
    no call and changed nothing leaves no audit row: repeats cannot flood the trail."""
    truth = answer.truth
    assert truth is not None
    async with deps.uow() as uow:
        payment = await _payment_of_record(uow, delivery.pg_account_id, truth, by_order=by_order)
        if payment is None:
            return Outcome(D.UNMATCHED, note="no payment of ours is the PG's record's")
        held, offered = payment.deposit_secret_digest, notice.secret_digest
        if held is not None and offered is not None and not hmac.compare_digest(offered, held):
            return Outcome(D.REJECTED, payment.id, "the secret does not match")
        before = payment.status
        if answer.asked:
            audit.record_exchange(uow, deps, payment, truth.exchange, PgOperation.LOOKUP)
        changed = adopt_or_flag(uow, payment, truth, deps)
        if not payment.has_unknown_outcome:
            payment.schedule_reconcile(next_check_at(payment))
        if not (answer.asked or changed):
            await uow.commit()
            return Outcome(D.APPLIED, payment.id, "nothing new: the PG's answer was known")
        audit.record(
            uow,
            deps,
            payment,
            webhook_type(notice.event_type),
            AuditStatus.APPLIED if payment.status is not before else AuditStatus.UNCHANGED,
            request=_reported(delivery, notice),
            response={"pgStatus": truth.status.value, "status": payment.status.value},
        )
        try:
            await uow.commit()
        except StaleAggregate as conflict:
            raise _Retry("the payment changed while the webhook was applied") from conflict
        except PaymentKeyTaken as taken:
            # The order's own payment takes the key Toss approved it under, but another order's
            # claim holds that key until its confirm settles (the PG refuses it): not a bug.
            raise _Retry(
                "its paymentKey is held by another order's claim until that settles"
            ) from taken
        return Outcome(D.APPLIED, payment.id)


async def _payment_of_record(
    uow: UnitOfWork, pg_account_id: str, truth: GatewayPayment, *, by_order: bool
) -> Payment | None:
    """Our payment on the account that the PG's record is of, locked: the one holding its
    paymentKey (`by_order`: the one of its orderId), unless that one is of another order.

    A payment holds a paymentKey of another order while its claim waits for the PG's answer: a
    confirm with a key seen elsewhere (another order's, perhaps another tenant's on the shared
    account), which the PG refuses. The PG's record of that key is the other order's (its name,
    amount, customer): never this payment's to keep in its trail or to be flagged with, since
    its tenant sees both (the confirm withholds it too, confirm_verdicts._withheld). The record
    is the payment's of the order it names, if that one is ours on the account. A record of this
    very order that disagrees (another amount) is this payment's: adopt_or_flag flags it.

    Only the payment returned is locked (an orderId is one payment's on an account, so that is
    the holder itself when the record is of its order): a transaction holding two payments'
    locks could deadlock with another taking them the other way round."""
    if (
        not by_order
        and await uow.payments.get_by_payment_key(pg_account_id, truth.payment_key) is None
    ):
        return None
    return await uow.payments.get_by_account_order(pg_account_id, truth.order_id, for_update=True)


async def _reject_deposit(
    delivery: WebhookDelivery, notice: WebhookNotice, truth: GatewayPayment, deps: Deps
) -> Outcome:
    async with deps.uow() as uow:
        payment = await _payment_of_record(uow, delivery.pg_account_id, truth, by_order=False)
        if payment is None:
            return Outcome(D.UNMATCHED, note="no payment of ours is the PG's record's")
        audit.record(
            uow,
            deps,
            payment,
            webhook_type(notice.event_type),
            AuditStatus.REJECTED,
            request=_reported(delivery, notice),
            response={"reason": "the secret does not match the PG's"},
        )
        await uow.commit()
        return Outcome(D.REJECTED, payment.id, "the secret does not match the PG's")


def _reported(delivery: WebhookDelivery, notice: WebhookNotice) -> dict[str, object]:
    """What the delivery claimed, for the audit trail: never its secret."""
    return {
        "deliveryId": delivery.id,
        "eventType": notice.event_type,
        "reportedStatus": notice.reported_status,
        "transactionKey": notice.transaction_key,
    }
