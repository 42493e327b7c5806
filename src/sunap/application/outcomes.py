"""Recording what the PG answered, shared by every use case that calls it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from sunap.domain.errors import PaymentNotFound
from sunap.domain.payment import Cancel, Failure, Payment, PaymentStatus

from . import audit
from .adopt import GatewayMismatch, adopt_gateway_state, next_check_at
from .audit_kinds import AuditStatus, AuditType, pg_call_type
from .confirm_verdicts import (
    Approved,
    ConfirmVerdict,
    Disagrees,
    NotThisOrders,
    OtherAmountUnapproved,
    Refused,
    Undecided,
)
from .deps import Deps
from .errors import PgTimeout, PgUnavailable
from .optimism import lock_on_conflict
from .ports.gateway import (
    GatewayError,
    GatewayExchange,
    GatewayPayment,
    GatewayUnknown,
    PgOperation,
)
from .ports.unit_of_work import UnitOfWork

log = logging.getLogger("sunap.pg")


async def reload(
    uow: UnitOfWork, tenant_id: str, payment_id: str, *, locked: bool = True
) -> Payment:
    payment = await uow.payments.get(tenant_id, payment_id, for_update=locked)
    if payment is None:
        raise PaymentNotFound()
    return payment


async def record_result(
    tenant_id: str,
    payment_id: str,
    result: GatewayPayment,
    deps: Deps,
    operation: PgOperation,
    *,
    answered_cancels: Mapping[str, str] | None = None,
    refused_cancels: Mapping[str, Failure] | None = None,
    also: Callable[[UnitOfWork], Awaitable[None]] | None = None,
) -> Payment:
    """Record one PG answer about a payment and adopt what it says, in one transaction (with
    `also`'s writes, made after the payment is read: locked, or unlocked where a change since
    refuses the write and the whole is run again locked, optimism.py)."""

    async def record(uow: UnitOfWork, locked: bool) -> Payment:
        payment = await reload(uow, tenant_id, payment_id, locked=locked)
        if also is not None:
            await also(uow)
        audit.record_exchange(uow, deps, payment, result.exchange, operation)
        adopt_or_flag(
            uow,
            payment,
            result,
            deps,
            answered_cancels=answered_cancels,
            refused_cancels=refused_cancels,
        )
        if not payment.has_unknown_outcome:
            payment.schedule_reconcile(next_check_at(payment))
        await uow.commit()
        return payment

    return await lock_on_conflict(deps, record)


async def record_call(
    tenant_id: str, payment_id: str, error: GatewayError, deps: Deps, operation: PgOperation
) -> None:
    """Record a PG call that ended without a result, leaving the payment as it is."""
    log.warning("%s of payment %s: %s %s", operation, payment_id, type(error).__name__, error.code)
    async with deps.uow() as uow:
        payment = await reload(uow, tenant_id, payment_id)
        audit.record_exchange(uow, deps, payment, error.exchange, operation)
        await uow.commit()


async def apply_confirm_verdict(
    claimed: Payment,
    verdict: ConfirmVerdict,
    deps: Deps,
    operation: PgOperation,
    *,
    also_seen: tuple[GatewayExchange | None, ...] = (),
    call_ended: bool = False,
    claimed_as_committed: bool = False,
) -> Payment:
    """Record the PG's answers about a claimed confirm and apply their verdict, in one
    transaction. `call_ended`: the confirm use case's own call is over; left undecided, the
    claim gets its `confirm.unanswered` row, which lets a repeated confirm send it again.
    `claimed_as_committed`: `claimed` is the very object the claim's commit wrote, unchanged
    since; where reads go unlocked it is then written on without being read again (its
    version check refuses it if anything changed since, and the locked run reads it)."""

    # An undecided verdict changes no column of the payment, so nothing would check its version:
    # it reads the payment, as the trail row it may write depends on the claim still standing.
    attach = claimed_as_committed and not isinstance(verdict, Undecided)

    async def record(uow: UnitOfWork, locked: bool) -> Payment:
        if not locked and attach:
            payment = uow.payments.attach(claimed)
        else:
            payment = await reload(uow, claimed.tenant_id, claimed.id, locked=locked)
        apply_confirm_verdict_in(
            uow, payment, claimed, verdict, deps, operation, also_seen=also_seen
        )
        if call_ended and isinstance(verdict, Undecided) and _still_this_claim(payment, claimed):
            audit.record(
                uow,
                deps,
                payment,
                AuditType.CONFIRM_UNANSWERED,
                AuditStatus.UNKNOWN,
                request={"claim": claimed.confirm_idempotency_key},
            )
        if not payment.has_unknown_outcome:
            payment.schedule_reconcile(next_check_at(payment))
        await uow.commit()
        return payment

    return await lock_on_conflict(deps, record)


def apply_confirm_verdict_in(
    uow: UnitOfWork,
    payment: Payment,
    claimed: Payment,
    verdict: ConfirmVerdict,
    deps: Deps,
    operation: PgOperation,
    *,
    also_seen: tuple[GatewayExchange | None, ...] = (),
) -> None:
    """The same inside the caller's transaction, on `payment` freshly read. A payment settled
    meanwhile by someone else (a webhook, the reconciler) is left as it is: only the claim that
    was judged may be changed by its verdict."""
    for exchange in (*also_seen, *_exchanges(verdict)):
        audit.record_exchange(uow, deps, payment, exchange, operation)
    if _still_this_claim(payment, claimed):
        _apply(uow, payment, verdict, deps)


async def note_unrecorded_claim_call(
    uow: UnitOfWork, deps: Deps, payment: Payment, claimed: Payment
) -> None:
    """Before the reconciler's rows about `claimed` (the very claim `payment` still is): if its
    own confirm call left no row, say so, once. Every call Toss received is in the trail: the
    process that sent this one stopped before recording its answer (its claim row, which names
    the call's Idempotency-Key, is the last it wrote), or the answer is late and its row will
    follow. A claim row written before claim keys were kept names none: nothing is said then."""
    if not _still_this_claim(payment, claimed):
        return
    claim = claimed.confirm_idempotency_key
    trail = await uow.audit.list_for_payment(payment.tenant_id, payment.id)
    claim_rows = [
        n
        for n, entry in enumerate(trail)
        if entry.type == AuditType.CONFIRM_CLAIMED
        and (entry.request_data or {}).get("claim") == claim
    ]
    if not claim_rows:
        return
    own_call = pg_call_type(PgOperation.CONFIRM)
    since = trail[claim_rows[-1] + 1 :]
    if any(e.type in (own_call, AuditType.CONFIRM_ANSWER_UNRECORDED) for e in since) or any(
        e.type == AuditType.CONFIRM_UNANSWERED and (e.request_data or {}).get("claim") == claim
        for e in since
    ):
        return
    audit.record(
        uow,
        deps,
        payment,
        AuditType.CONFIRM_ANSWER_UNRECORDED,
        AuditStatus.UNKNOWN,
        request={"claim": claim, "paymentKey": claimed.payment_key, "amount": claimed.amount},
        response={
            "note": "The confirm call sent under this claim (its Idempotency-Key) has no "
            "recorded answer: the process that sent it stopped before writing one, or, rarely, "
            "the answer is still on its way and its own row follows. The PG may have received "
            "the call; the rows that follow show what it made of it."
        },
    )


def _still_this_claim(payment: Payment, claimed: Payment) -> bool:
    return (
        payment.status is PaymentStatus.IN_PROGRESS
        and payment.payment_key == claimed.payment_key
        and payment.confirm_idempotency_key == claimed.confirm_idempotency_key  # this very claim
    )


def _apply(uow: UnitOfWork, payment: Payment, verdict: ConfirmVerdict, deps: Deps) -> None:
    now = deps.clock.now()
    match verdict:
        case Approved(truth=truth):
            # Toss's record may already hold refunds made in its console: booked with their
            # rows, as the webhook's and the reconciler's paths book them (adopt_or_flag).
            held = {c.id: c.amount for c in payment.cancels}
            adopt_gateway_state(payment, truth, deps)
            _audit_cancels_not_as_held(uow, deps, payment, held)
        case Refused(failure=failure, expired=True):
            payment.expire(now, failure)
        case Refused(failure=failure):
            payment.abort(failure, now)
        case NotThisOrders(pg_code=pg_code):
            audit.record(
                uow,
                deps,
                payment,
                AuditType.CONFIRM_RELEASED,
                AuditStatus.OK,
                request={"paymentKey": payment.payment_key},
                response={"pgCode": pg_code, "status": PaymentStatus.READY.value},
            )
            payment.release_confirm(now)
        case OtherAmountUnapproved(truth=truth):
            # The customer's window, opened for another amount: nothing moved, nothing for a
            # person to check. The amount mismatch of docs/api.md's Confirm rules, found at the PG.
            log.info(
                "payment %s: the PG's window for paymentKey %s was opened for %s %s, not %s; "
                "nothing was approved, the confirm is refused",
                payment.id,
                payment.payment_key,
                truth.total_amount,
                truth.currency,
                payment.amount,
            )
            audit.record(
                uow,
                deps,
                payment,
                AuditType.CONFIRM_RELEASED,
                AuditStatus.REJECTED,
                request={"paymentKey": payment.payment_key, "amount": payment.amount},
                response={
                    "code": "AMOUNT_MISMATCH",
                    "pgAmount": truth.total_amount,
                    "pgCurrency": truth.currency,
                    "pgStatus": truth.status.value,
                    "status": PaymentStatus.READY.value,
                },
            )
            payment.release_confirm(now)
        case Disagrees(reason=reason) as disagreement:
            log.error("payment %s: the PG's record disagrees with ours: %s", payment.id, reason)
            payment.flag_for_review(reason, now)
            if disagreement.approved:
                payment.schedule_reconcile(None)  # money may have moved: a person decides
            else:
                payment.release_confirm(now)
        case Undecided():
            pass


def _exchanges(verdict: ConfirmVerdict) -> tuple[GatewayExchange | None, ...]:
    match verdict:
        case (
            Approved(truth=truth, earlier=earlier)
            | OtherAmountUnapproved(truth=truth, earlier=earlier)
            | Disagrees(truth=truth, earlier=earlier)
        ):
            return (*earlier, truth.exchange)
        case Refused(exchange=exchange, earlier=earlier):
            return (*earlier, exchange)
        case NotThisOrders(exchanges=exchanges) | Undecided(exchanges=exchanges):
            return exchanges
    return ()


def adopt_or_flag(
    uow: UnitOfWork,
    payment: Payment,
    result: GatewayPayment,
    deps: Deps,
    *,
    answered_cancels: Mapping[str, str] | None = None,
    refused_cancels: Mapping[str, Failure] | None = None,
) -> bool:
    """Adopt the PG's view; a record of another payment flags this one for a person when money
    moved on either side (one that approved nothing is left alone). True if anything changed.
    Each cancel the PG's view booked other than as held (one made elsewhere, one that refunded
    less) gets a row in the payment's trail, in `uow`."""
    held = {c.id: c.amount for c in payment.cancels}
    try:
        changed = adopt_gateway_state(
            payment,
            result,
            deps,
            answered_cancels=answered_cancels,
            refused_cancels=refused_cancels,
        )
    except GatewayMismatch as mismatch:
        if not mismatch.money_moved:
            # A window opened for another amount, approved by no one: not this payment's record
            # to adopt, and nothing for a person (or an alert) to check.
            log.info("payment %s: not adopted, nothing was approved: %s", payment.id, mismatch)
            return False
        log.error("payment %s: %s", payment.id, mismatch)
        payment.flag_for_review(str(mismatch), deps.clock.now())
        return True
    _audit_cancels_not_as_held(uow, deps, payment, held)
    return changed


def _audit_cancels_not_as_held(
    uow: UnitOfWork, deps: Deps, payment: Payment, held: Mapping[str, int]
) -> None:
    for cancel in payment.cancels:
        if cancel.id not in held:  # made elsewhere (Toss's console), booked from the PG's record
            kind, request = AuditType.CANCEL_EXTERNAL, None
        elif cancel.amount != held[cancel.id]:  # booked at what the PG refunded for it
            kind, request = AuditType.CANCEL_REFUNDED_LESS, {"held": held[cancel.id]}
        else:
            continue
        audit.record(
            uow, deps, payment, kind, AuditStatus.OK, request=request, response=_booked(cancel)
        )


def _booked(cancel: Cancel) -> dict[str, object]:
    return {
        "cancelId": cancel.id,
        "amount": cancel.amount,
        "transactionKey": cancel.transaction_key,
    }


def unknown_outcome(error: GatewayError) -> PgTimeout | PgUnavailable:
    """The answer a caller gets when the PG's outcome is unknown: never a failure."""
    if isinstance(error, GatewayUnknown) and error.timed_out:
        return PgTimeout(
            "The payment gateway did not answer in time; the outcome is being checked."
        )
    return PgUnavailable("The payment gateway is unavailable; the outcome is being checked.")
