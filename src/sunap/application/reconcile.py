"""Find out by ourselves what became of a PG call whose answer we did not get.

A payment left IN_PROGRESS, or with a cancel still PENDING, carries `next_reconcile_at`. When it
falls due, one worker leases it, asks the PG (look-up by orderId; a same-key replay of the confirm
or cancel when the PG never saw it), adopts the answer, and otherwise tries again later on a
backoff schedule. After the last attempt the payment is flagged for a person, never failed.

A payment we closed unpaid (canceled while READY, or expired when Toss did not know its order)
carries one more look at Toss, once Toss's own window has closed (Deps.toss_recheck): the
customer may have paid at Toss all the same, with the webhook lost. Toss's approval is then
adopted, flagged for a person (adopt.py); an order Toss still holds open is looked at again.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from sunap.domain.payment import CancelStatus, Failure, Payment, PaymentStatus

from . import audit
from .adopt import check_again_soon, next_check_at
from .audit_kinds import AuditStatus, AuditType
from .billing_charges import ChargeVerdict, send_charge
from .cancel_payment import why_not_sent_again
from .cancel_trail import note_unrecorded_cancel_calls
from .cancel_turns import CANCEL_SPACING, Turn, end_turn, take_turn_in
from .confirm_verdicts import ConfirmVerdict, Disagrees, Undecided, judge_claim
from .deps import Deps
from .errors import QuarantinedPayment, StaleAggregate, UnknownPgAccount
from .outcomes import (
    adopt_or_flag,
    apply_confirm_verdict_in,
    note_unrecorded_claim_call,
    reload,
)
from .ports.gateway import (
    GatewayAlreadyProcessed,
    GatewayDeclined,
    GatewayError,
    GatewayExchange,
    GatewayMisconfigured,
    GatewayNotFound,
    GatewayPayment,
    PaymentGateway,
    PgOperation,
    never_sent,
)
from .ports.unit_of_work import UnitOfWork

log = logging.getLogger("sunap.reconciler")

LEASE = timedelta(seconds=60)


class ReconcileOutcome(enum.Enum):
    SETTLED = "settled"
    RETRY_LATER = "retry_later"
    ESCALATED = "escalated"
    SKIPPED = "skipped"  # another worker holds it, or nothing is unknown any more


async def reconcile_due(deps: Deps, limit: int = 50) -> dict[str, ReconcileOutcome]:
    """One pass: every payment whose reconcile time has come. Safe to run on many workers."""
    due = await payments_due(deps, limit)
    return {payment_id: await reconcile_payment(payment_id, deps) for payment_id in due}


async def payments_due(deps: Deps, limit: int = 50) -> list[str]:
    """The ids of the payments whose reconcile time has come, for a caller that walks them itself."""
    async with deps.uow() as uow:
        return list(await uow.payments.due_for_reconcile(deps.clock.now(), limit))


async def reconcile_payment(payment_id: str, deps: Deps) -> ReconcileOutcome:
    payment = await _lease(payment_id, deps)
    if payment is None:
        return ReconcileOutcome.SKIPPED
    try:
        gateway = await deps.accounts.gateway(payment.pg_account_id)
    except (UnknownPgAccount, QuarantinedPayment) as unreachable:
        return await _escalate(payment, deps, str(unreachable))
    if payment.status is PaymentStatus.IN_PROGRESS and payment.billing_key_id is not None:
        return await _settle_billing_charge(payment, deps)
    if payment.status is PaymentStatus.IN_PROGRESS:
        return await _settle_claim(payment, gateway, deps)
    if payment.closed_unpaid:
        return await _follow_up_closed_unpaid(payment, gateway, deps)
    # Replaying a cancel is sending one: it waits for the payment's turn like any cancel. A turn
    # held now is a cancel in flight; its answer may settle this, else we look after the lease.
    taken, held_until = await _take_turn_to_replay(payment, deps)
    if not taken:
        await _look_again_soon(payment, deps)
        return ReconcileOutcome.SKIPPED
    try:
        findings = await _ask_about_cancels(payment, gateway, deps)
    except GatewayError as error:
        await end_turn(payment.tenant_id, payment.id, held_until, deps, sent=True)
        return await _retry_later(payment, deps, f"{type(error).__name__} {error.code}", error)
    except BaseException:
        await end_turn(payment.tenant_id, payment.id, held_until, deps, sent=True)
        raise
    await end_turn(payment.tenant_id, payment.id, held_until, deps, sent=True)
    return await _settle(payment, findings, deps)


async def _take_turn_to_replay(payment: Payment, deps: Deps) -> tuple[bool, Turn]:
    """Take the payment's cancel turn if it is free now: (taken, hold). With it, before any
    call, each pending cancel whose own call left no row gets its note (cancel_trail.py): the
    rows of the replays that follow are not that call's."""
    async with deps.uow() as uow:
        held_until, _ = await take_turn_in(uow, payment.tenant_id, payment.id, deps.clock.now())
        if held_until is not None:
            await note_unrecorded_cancel_calls(uow, deps, payment, payment.pending_cancels)
        await uow.commit()
    return held_until is not None, held_until


async def _look_again_soon(payment: Payment, deps: Deps) -> None:
    """The payment's cancel turn is taken (a cancel in flight, or the hold of a process that
    died): give the lease back and look again in a moment, not after the whole lease."""
    leased_until = payment.next_reconcile_at
    if leased_until is None:
        return
    async with deps.uow() as uow:
        await uow.payments.lease_for_reconcile(
            payment.id, leased_until, deps.clock.now() + CANCEL_SPACING
        )
        await uow.commit()


async def _lease(payment_id: str, deps: Deps) -> Payment | None:
    now = deps.clock.now()
    async with deps.uow() as uow:
        payment = await uow.payments.get_any_tenant(payment_id)
        if payment is None or payment.next_reconcile_at is None:
            return None
        if payment.next_reconcile_at > now:
            return None
        if not await uow.payments.lease_for_reconcile(
            payment_id, payment.next_reconcile_at, now + LEASE
        ):
            return None
        await uow.commit()
    async with deps.uow() as uow:
        return await uow.payments.get_any_tenant(payment_id)


# -- a billing-key charge whose answer we never got ------------------------------------------


async def _settle_billing_charge(payment: Payment, deps: Deps) -> ReconcileOutcome:
    """The very same charge sent again (same orderId and Idempotency-Key): the PG answers a key
    it has seen with its first answer, and runs one it never saw, so nothing is charged twice.
    A refusal of it is checked against the PG's record of the order (billing_charges.py)."""
    result = await send_charge(payment.id, deps, again=True)
    if result.verdict is ChargeVerdict.UNKNOWN:
        return (
            ReconcileOutcome.ESCALATED
            if result.payment.needs_review
            else ReconcileOutcome.RETRY_LATER
        )
    return ReconcileOutcome.SETTLED


# -- a confirm whose answer we never got ----------------------------------------------------


async def _settle_claim(payment: Payment, gateway: PaymentGateway, deps: Deps) -> ReconcileOutcome:
    """Judge the claim as the confirm use case would have (confirm_verdicts.py)."""
    verdict, seen = await judge_claim(payment, gateway)
    async with deps.uow() as uow:
        fresh = await reload(uow, payment.tenant_id, payment.id)
        # Before this pass's own rows: a same-key replay's row is not the claim's own call's.
        await note_unrecorded_claim_call(uow, deps, fresh, payment)
        apply_confirm_verdict_in(
            uow, fresh, payment, verdict, deps, PgOperation.RECONCILE, also_seen=seen
        )
        if isinstance(verdict, Disagrees) and fresh.needs_review:
            outcome = ReconcileOutcome.ESCALATED  # never adopted: a person decides
        else:
            asked = not (isinstance(verdict, Undecided) and never_sent(verdict.error))
            outcome = _after_check(uow, fresh, deps, _reason(verdict), asked=asked)
        await uow.commit()
    return outcome


def _reason(verdict: ConfirmVerdict) -> str:
    if isinstance(verdict, Undecided) and verdict.error is not None:
        return f"{type(verdict.error).__name__} {verdict.error.code}"
    return "the PG has not settled it yet"


# -- a payment we closed unpaid, which Toss may have approved all the same --------------------


async def _follow_up_closed_unpaid(
    payment: Payment, gateway: PaymentGateway, deps: Deps
) -> ReconcileOutcome:
    """Toss's record of the order: approved (adopted for review), still open (looked at again
    after Toss's window), or unknown to Toss or ended unpaid (nothing more to ask)."""
    try:
        truth: GatewayPayment | None = await gateway.lookup_by_order_id(payment.order_id)
        exchange = truth.exchange if truth is not None else None
    except GatewayNotFound as not_found:
        truth, exchange = None, not_found.exchange
    except GatewayError as error:
        return await _retry_later(payment, deps, f"{type(error).__name__} {error.code}", error)
    async with deps.uow() as uow:
        fresh = await reload(uow, payment.tenant_id, payment.id)
        audit.record_exchange(uow, deps, fresh, exchange, PgOperation.RECONCILE)
        if truth is not None:
            adopt_or_flag(uow, fresh, truth, deps)
        open_at_toss = truth is not None and truth.status in (
            PaymentStatus.READY,
            PaymentStatus.IN_PROGRESS,
        )
        if fresh.closed_unpaid and open_at_toss and not fresh.needs_review:
            fresh.schedule_reconcile(deps.clock.now() + deps.toss_recheck)
            outcome = ReconcileOutcome.RETRY_LATER
        else:
            outcome = _after_check(uow, fresh, deps, "the PG has not settled it yet")
        await uow.commit()
    return outcome


# -- cancels whose answers we never got -----------------------------------------------------


@dataclass(frozen=True)
class _Findings:
    truth: GatewayPayment
    # Our cancel id -> the PG transaction that the answer to its own key named.
    answered_cancels: dict[str, str] = field(default_factory=dict)
    refused_cancels: dict[str, Failure] = field(default_factory=dict)
    # Every exchange with the PG on the way (the look-ups and each replayed cancel, but a
    # refused one, which its release records), for the trail: one row per call.
    exchanges: tuple[GatewayExchange | None, ...] = ()


async def _ask_about_cancels(payment: Payment, gateway: PaymentGateway, deps: Deps) -> _Findings:
    """The PG's current view, replaying each pending cancel with its original key.

    Each pending cancel is replayed, even when the PG lists a cancel of its amount: only the
    answer to its own key says which of the PG's cancels is this one. Not where the PG would run
    the key as a new cancel, a second refund if the first went through (`why_not_sent_again`):
    past its keeping of keys, or under a secret key that replaced the one the cancel went out
    under (unless its record shows it never ran that cancel, `_rekey_where_never_run`). Such a
    cancel stays pending, for a person.
    """
    truth = await gateway.lookup_by_order_id(payment.order_id)
    answered: dict[str, str] = {}
    refused_keys: dict[str, Failure] = {}
    seen: list[GatewayExchange | None] = [truth.exchange]
    payment = await _rekey_where_never_run(payment, truth, gateway, deps)
    now = deps.clock.now()
    replayable = [c for c in payment.pending_cancels if why_not_sent_again(c, gateway, now) is None]
    replayed_last = False  # `truth` is a replay's answer: the key's first, perhaps long ago
    for n, cancel in enumerate(replayable):
        assert payment.payment_key is not None
        if n > 0:  # the PG takes one cancel of a payment per second (cancel_turns.py)
            await deps.sleep(CANCEL_SPACING.total_seconds())
        try:
            truth = await gateway.cancel(
                payment_key=payment.payment_key,
                reason=cancel.reason,
                amount=cancel.amount,
                idempotency_key=cancel.gateway_idempotency_key,
            )
        except GatewayMisconfigured as refused:
            if not refused.refused_request:
                raise  # our credentials: asked again later
            # A refusal of what the replay asks is a refusal of the cancel: the PG answers a
            # key it has run with its first answer (and keeps it longer than we replay), so
            # one it refuses now it never carried out.
            await _release_cancel(payment, cancel.id, refused, deps)  # records its exchange
            continue
        except GatewayDeclined as declined:
            await _release_cancel(payment, cancel.id, declined, deps)  # records its exchange
            continue
        except GatewayAlreadyProcessed as processed:
            refused_keys[cancel.id] = Failure(processed.code, processed.message)
            truth = await gateway.lookup_by_payment_key(payment.payment_key)
            seen += [processed.exchange, truth.exchange]
            replayed_last = False
            continue
        seen.append(truth.exchange)
        if truth.last_transaction_key is not None:
            answered[cancel.id] = truth.last_transaction_key
        replayed_last = True
    if replayed_last:
        truth = await _as_it_is_now(payment, gateway, truth, seen)
    return _Findings(truth, answered, refused_keys, tuple(seen))


# Longer than any call of ours to the PG can take, its own processing included: a cancel sent
# this long ago that the PG's record does not show was never carried out, and never will be.
SURELY_ANSWERED = timedelta(minutes=10)


async def _rekey_where_never_run(
    payment: Payment, truth: GatewayPayment, gateway: PaymentGateway, deps: Deps
) -> Payment:
    """Pending cancels sent under a secret key the account no longer uses, which the PG's record
    (`truth`, read under the new key: the same account) shows it never carried out, go out again
    under the new key. Only when every cancel the PG holds is one we booked, so none of its can
    be one of these, and long enough after they were sent that none is still on its way. The
    change is committed before anything is sent: a process that dies after sending leaves a
    cancel whose key is the new one, replayed under it next time."""
    now = deps.clock.now()
    replaced = [
        c
        for c in payment.pending_cancels
        if c.pg_key not in (None, gateway.key_id) and now - c.requested_at >= SURELY_ANSWERED
    ]
    booked = {c.transaction_key for c in payment.cancels if c.status is CancelStatus.DONE}
    if not replaced or any(gc.transaction_key not in booked for gc in truth.cancels):
        return payment
    try:
        async with deps.uow() as uow:
            fresh = await reload(uow, payment.tenant_id, payment.id)
            for cancel in replaced:
                if fresh.find_cancel(cancel.id) not in fresh.pending_cancels:
                    continue
                fresh.send_cancel_under(cancel.id, gateway.key_id, now)
                audit.record(
                    uow,
                    deps,
                    fresh,
                    AuditType.CANCEL_REKEYED,
                    AuditStatus.OK,
                    request={"cancelId": cancel.id},
                    response={"reason": "Toss's record shows no refund of it"},
                )
            await uow.commit()
    except StaleAggregate:
        return payment  # changed meanwhile: looked at again next time
    log.warning(
        "payment %s: %d cancel(s) sent under a replaced Toss secret key, never carried out, "
        "go out again under the new key",
        payment.id,
        len(replaced),
    )
    return fresh


async def _as_it_is_now(
    payment: Payment,
    gateway: PaymentGateway,
    answer: GatewayPayment,
    seen: list[GatewayExchange | None],
) -> GatewayPayment:
    """The PG's record as it is now, once the replays have named our cancels' transactions. A
    replay is answered with its key's first answer, which lists only the cancels made before it:
    adopted as the PG's view, a refund made since in Toss's console (whose own webhook could not
    book it while two of our pending cancels had its amount) would be left out for good. Unread,
    the last replay's answer stands, as before."""
    assert payment.payment_key is not None
    try:
        now = await gateway.lookup_by_payment_key(payment.payment_key)
    except GatewayError as error:
        seen.append(error.exchange)
        return answer
    seen.append(now.exchange)
    return now


async def _release_cancel(
    payment: Payment, cancel_id: str, refused: GatewayError, deps: Deps
) -> None:
    async with deps.uow() as uow:
        fresh = await reload(uow, payment.tenant_id, payment.id)
        audit.record_exchange(uow, deps, fresh, refused.exchange, PgOperation.CANCEL)
        if fresh.find_cancel(cancel_id) in fresh.pending_cancels:
            fresh.fail_cancel(cancel_id, Failure(refused.code, refused.message), deps.clock.now())
        await uow.commit()


async def _settle(payment: Payment, findings: _Findings, deps: Deps) -> ReconcileOutcome:
    truth = findings.truth
    async with deps.uow() as uow:
        fresh = await reload(uow, payment.tenant_id, payment.id)
        for exchange in findings.exchanges:
            audit.record_exchange(uow, deps, fresh, exchange, PgOperation.RECONCILE)
        if fresh.status is not PaymentStatus.IN_PROGRESS:
            adopt_or_flag(
                uow,
                fresh,
                truth,
                deps,
                answered_cancels=findings.answered_cancels,
                refused_cancels=findings.refused_cancels,
            )
        outcome = _after_check(uow, fresh, deps, "the PG has not settled it yet")
        await uow.commit()
        return outcome


def _after_check(
    uow: UnitOfWork, fresh: Payment, deps: Deps, reason: str, *, asked: bool = True
) -> ReconcileOutcome:
    """Schedule what comes next for a payment the reconciler just checked."""
    follow_up = next_check_at(fresh)
    if follow_up is not None and follow_up <= deps.clock.now() and not fresh.has_unknown_outcome:
        return _schedule_next(fresh, deps, "a virtual account past due that the PG keeps open")
    if fresh.has_unknown_outcome:
        return _schedule_next(fresh, deps, reason, asked=asked)
    fresh.schedule_reconcile(follow_up, attempts=0)
    audit.record(
        uow,
        deps,
        fresh,
        AuditType.RECONCILE_SETTLED,
        AuditStatus.OK,
        response={"status": fresh.status.value},
    )
    log.info("payment %s settled by the reconciler: %s", fresh.id, fresh.status)
    return ReconcileOutcome.SETTLED


async def _escalate(payment: Payment, deps: Deps, reason: str) -> ReconcileOutcome:
    async with deps.uow() as uow:
        fresh = await reload(uow, payment.tenant_id, payment.id)
        fresh.schedule_reconcile(None)
        fresh.flag_for_review(reason, deps.clock.now())
        await uow.commit()
    log.error("payment %s needs a person: %s", payment.id, reason)
    return ReconcileOutcome.ESCALATED


async def _retry_later(
    payment: Payment, deps: Deps, reason: str, error: GatewayError
) -> ReconcileOutcome:
    async with deps.uow() as uow:
        fresh = await reload(uow, payment.tenant_id, payment.id)
        audit.record_exchange(uow, deps, fresh, error.exchange, PgOperation.RECONCILE)
        outcome = _schedule_next(fresh, deps, reason, asked=not never_sent(error))
        await uow.commit()
        return outcome


def _schedule_next(
    payment: Payment, deps: Deps, reason: str, *, asked: bool = True
) -> ReconcileOutcome:
    """The next check, on the backoff schedule; after the last, a person. A check that never
    reached the PG (`asked` False) uses none of the schedule (`check_again_soon`)."""
    now = deps.clock.now()
    if not asked and check_again_soon(payment, deps, now):
        return ReconcileOutcome.RETRY_LATER
    attempts = payment.reconcile_attempts + 1
    if attempts >= len(deps.reconcile_delays):
        payment.schedule_reconcile(None, attempts=attempts)
        payment.flag_for_review(f"unknown PG outcome after {attempts} checks: {reason}", now)
        log.error(
            "payment %s needs a person: PG outcome still unknown after %d checks (%s)",
            payment.id,
            attempts,
            reason,
        )
        return ReconcileOutcome.ESCALATED
    payment.schedule_reconcile(now + deps.reconcile_delays[attempts], attempts=attempts)
    return ReconcileOutcome.RETRY_LATER
