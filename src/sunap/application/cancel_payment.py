"""Cancel all or part of a payment: take the payment's cancel turn and reserve against the
balance, call the PG, record the answer and free the turn.

The reservation (a PENDING cancel counted in pending_cancel_amount) is committed before the PG call,
so concurrent partial cancels can never sum past what was paid, on any number of processes. The
turn (cancel_turns.py) keeps the PG's one cancel of a payment per second; it is taken in the
reserving transaction, so a cancel waiting for it has reserved nothing the reconciler could
mistake for a call in doubt, and a cancel refused before the PG holds no turn.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime

from sunap.domain.errors import PaymentNotFound, RefundAccountRequired
from sunap.domain.payment import Cancel, CancelStatus, Failure, Payment, PaymentStatus

from . import audit, log_context
from .adopt import next_check_at
from .audit_kinds import AuditStatus, AuditType
from .cancel_trail import note_unrecorded_cancel_calls, requested
from .cancel_turns import (
    Turn,
    TurnWait,
    end_turn,
    end_turn_in,
    take_turn_in,
)
from .commands import CancelPayment
from .deps import Deps
from .errors import (
    ConcurrentUpdate,
    IdempotencyKeyReused,
    PaymentRejected,
    PgTimeout,
    PgUnavailable,
    StaleAggregate,
)
from .optimism import lock_on_conflict
from .outcomes import record_call, record_result, reload, unknown_outcome
from .pg_accounts import gateway_within, with_account_at_hand
from .ports.gateway import (
    PG_KEY_RETENTION,
    GatewayAlreadyProcessed,
    GatewayDeclined,
    GatewayError,
    GatewayMisconfigured,
    PaymentGateway,
    PgOperation,
)
from .ports.unit_of_work import UnitOfWork

log = logging.getLogger("sunap.cancel")

# Concurrent cancels of one payment race on its version; each loser re-reads and tries again.
RESERVE_ATTEMPTS = 8


def cancel_idempotency_key(cancel_id: str) -> str:
    return f"sunap-cancel-{cancel_id}"


def cancel_id_for(cmd: CancelPayment, deps: Deps) -> str:
    """A cancel asked for with an Idempotency-Key is named after the request, so that the same
    request again finds it; any other gets a fresh id."""
    return f"cxl_{cmd.request_key}" if cmd.request_key else deps.ids.new_id("cxl")


async def cancel_payment(cmd: CancelPayment, deps: Deps) -> Payment:
    log_context.bind(payment_id=cmd.payment_id)
    reserved = await _reserve(cmd, deps)
    if isinstance(reserved, _Earlier):
        return await _answer_as_before(cmd.tenant_id, cmd.payment_id, reserved.cancel_id, deps)
    payment, cancel, held_until = reserved.payment, reserved.cancel, reserved.turn
    if cancel is None or reserved.gateway is None:
        return payment  # READY: canceled locally, no PG call (docs/api.md, Cancel rules, rule 1)
    # The gateway the reservation was checked against: the cancel's own secret key (pg_key).
    gateway = reserved.gateway
    assert payment.payment_key is not None
    try:
        result = await gateway.cancel(
            payment_key=payment.payment_key,
            reason=cmd.reason,
            amount=None if reserved.in_full else cancel.amount,
            idempotency_key=cancel.gateway_idempotency_key,
            refund_account=cmd.refund_account,
            tax_free_amount=cmd.tax_free_amount,
        )
    except GatewayDeclined as declined:
        await end_turn(cmd.tenant_id, cmd.payment_id, held_until, deps, sent=True)
        return await _release(cmd.tenant_id, payment.id, cancel.id, declined, gateway, deps)
    except GatewayMisconfigured as refused:
        await end_turn(cmd.tenant_id, cmd.payment_id, held_until, deps, sent=True)
        if not refused.refused_request:  # our credentials: a fixed key may still carry it out
            await record_call(cmd.tenant_id, payment.id, refused, deps, PgOperation.CANCEL)
            raise unknown_outcome(refused) from refused
        return await _refused_request(cmd, payment.id, cancel.id, refused, gateway, deps)
    except GatewayAlreadyProcessed as already:
        await end_turn(cmd.tenant_id, cmd.payment_id, held_until, deps, sent=True)
        await record_call(cmd.tenant_id, payment.id, already, deps, PgOperation.CANCEL)
        # Toss answers a key it ran with its first answer: this key was never carried out.
        never_run = {cancel.id: Failure(already.code, already.message)}
        looked_up = await _adopt_lookup(payment, gateway, deps, never_run)
        return _answer_for(looked_up, cancel.id, already)
    except GatewayError as unknown:
        await end_turn(cmd.tenant_id, cmd.payment_id, held_until, deps, sent=True)
        await record_call(cmd.tenant_id, payment.id, unknown, deps, PgOperation.CANCEL)
        raise unknown_outcome(unknown) from unknown
    # The answer to this cancel's key names its own transaction: book it against this cancel.
    answered = {cancel.id: result.last_transaction_key} if result.last_transaction_key else {}

    async def free_the_turn(uow: UnitOfWork) -> None:
        await end_turn_in(uow, cmd.tenant_id, cmd.payment_id, held_until, deps, sent=True)

    try:  # the turn is freed in the transaction that records the answer: one less round trip
        return await record_result(
            cmd.tenant_id,
            payment.id,
            result,
            deps,
            PgOperation.CANCEL,
            answered_cancels=answered,
            also=free_the_turn,
        )
    except BaseException:
        await end_turn(cmd.tenant_id, cmd.payment_id, held_until, deps, sent=True)
        raise


@dataclass(frozen=True)
class _Reserved:
    payment: Payment
    cancel: Cancel | None  # None: canceled locally (it was READY), nothing to send
    in_full: bool  # the cancel takes the whole balance (sent to the PG without an amount)
    turn: Turn  # the hold on the payment's turn taken with it; None: none taken
    gateway: PaymentGateway | None = None  # what sends it, under the cancel's own key


def why_not_sent_again(cancel: Cancel, gateway: PaymentGateway, now: datetime) -> str | None:
    """Why a pending cancel must not be sent again under its key, if it must not: the PG would
    take it as a new cancel, a second refund if the first went through. It keeps a key for a
    while (PG_KEY_RETENTION), and per secret key: one replaced since the cancel was sent (a
    rotated account key) no longer knows it. A person decides then."""
    if now - cancel.requested_at > PG_KEY_RETENTION:
        return (
            f"cancel {cancel.id}'s outcome is unknown and too old to ask the payment gateway "
            "again under its key"
        )
    if cancel.pg_key is not None and cancel.pg_key != gateway.key_id:
        return (
            f"cancel {cancel.id}'s outcome is unknown and the account's Toss secret key was "
            "replaced since it was sent: under the new key it would be a new refund"
        )
    return None


@dataclass(frozen=True)
class _Earlier:
    """This very request made its cancel before (its key was released after an unknown
    outcome, or its claim expired with a process that died), and the PG has answered it."""

    cancel_id: str


@dataclass(frozen=True)
class _TurnHeld:
    free_at: datetime
    seen_at: datetime


async def _reserve(cmd: CancelPayment, deps: Deps) -> _Reserved | _Earlier:
    """Wait for the payment's cancel turn, then take it and reserve the cancel in one
    transaction; a cancel that could not be reserved takes no turn."""
    wait = TurnWait(cmd.payment_id)
    for _ in range(RESERVE_ATTEMPTS):
        while isinstance(tried := await _try_reserve_at_hand(cmd, deps, wait), _TurnHeld):
            await deps.sleep(wait.pause(tried.free_at, tried.seen_at))  # no transaction open
        if tried is not None:
            return tried
    raise ConcurrentUpdate("The payment is being changed by other requests; try again.")


async def _try_reserve_at_hand(
    cmd: CancelPayment, deps: Deps, wait: TurnWait
) -> _Reserved | _Earlier | _TurnHeld | None:
    return await with_account_at_hand(deps.accounts, lambda: _try_reserve(cmd, deps, wait.given_up))


async def _try_reserve(
    cmd: CancelPayment, deps: Deps, without_turn: bool
) -> _Reserved | _Earlier | _TurnHeld | None:
    """One transaction. None: another request changed the payment first (try again)."""
    now = deps.clock.now()
    cancel_id = cancel_id_for(cmd, deps)

    async def reserve(uow: UnitOfWork, locked: bool) -> _Reserved | _Earlier | _TurnHeld:
        payment = await uow.payments.get(cmd.tenant_id, cmd.payment_id, for_update=locked)
        if payment is None:
            raise PaymentNotFound()
        earlier = payment.find_cancel(cancel_id)
        if earlier is not None:
            _require_same_request(earlier, cmd)
            if earlier.status is not CancelStatus.PENDING:
                return _Earlier(cancel_id)  # leaving rolls back: nothing reserved, no turn taken
            return await _send_again_in_turn(uow, deps, cmd, payment, earlier, without_turn)
        turn: Turn = None
        gateway: PaymentGateway | None = None
        if payment.status is not PaymentStatus.READY:  # a cancel the PG will be asked for
            gateway = gateway_within(deps.accounts, payment.pg_account_id)
            if not gateway.accepts_new_operations():
                raise PgUnavailable("The payment gateway is unavailable; nothing was sent.")
            if not without_turn:
                turn, free_at = await take_turn_in(uow, cmd.tenant_id, cmd.payment_id, now)
                if free_at is not None:
                    return _TurnHeld(free_at, now)  # leaving rolls back: nothing reserved
        cancel = payment.begin_cancel(
            cancel_id=cancel_id,
            reason=cmd.reason,
            amount=cmd.amount,
            idempotency_key=cancel_idempotency_key(cancel_id),
            has_refund_account=cmd.refund_account is not None,
            now=now,
            tax_free_amount=cmd.tax_free_amount or 0,
            expected_cancelable=cmd.expected_cancelable,
            pg_key=gateway.key_id if gateway is not None else None,
        )
        in_full = cancel is not None and cancel.amount == payment.balance_amount
        if cancel is not None:
            payment.schedule_reconcile(now + deps.reconcile_delays[0], attempts=0)
        else:  # canceled unpaid, maybe with the customer in Toss's window: one more look then
            payment.schedule_reconcile(now + deps.toss_recheck, attempts=0)
        audit.record(
            uow,
            deps,
            payment,
            AuditType.CANCEL_REQUESTED if cancel else AuditType.CANCEL_LOCAL,
            AuditStatus.OK,
            request={"cancelReason": cmd.reason, "cancelAmount": cmd.amount},
            # Names the Idempotency-Key the call goes out under next: should this process die
            # before that call's answer is recorded, the call is still known by it.
            response=requested(cancel) if cancel else None,
        )
        await uow.commit()
        return _Reserved(payment, cancel, in_full, turn, gateway)

    try:  # read without the lock where that is cheaper, and locked if the payment changed
        return await lock_on_conflict(deps, reserve)
    except StaleAggregate:
        return None


def _require_same_request(earlier: Cancel, cmd: CancelPayment) -> None:
    """The key's first request and this one must ask for the same cancel: once the key was
    released (an unknown outcome), its store no longer compares them."""
    same = (
        cmd.reason == earlier.reason
        and (cmd.amount is None or cmd.amount == earlier.amount)
        and (cmd.tax_free_amount or 0) == earlier.tax_free_amount
    )
    if not same:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used for another cancel of this payment; use a new key "
            "for a new request."
        )


async def _send_again_in_turn(
    uow: UnitOfWork,
    deps: Deps,
    cmd: CancelPayment,
    payment: Payment,
    cancel: Cancel,
    without_turn: bool,
) -> _Reserved | _TurnHeld:
    """The request whose cancel is still pending is sent again as it came (its refund account
    included), under the cancel's own key, in the payment's turn: the PG answers a key it ran
    with its first answer and runs one it never saw, so nothing is refunded twice. Where a
    resend could be a second refund (`why_not_sent_again`), a person decides."""
    now = deps.clock.now()
    gateway = gateway_within(deps.accounts, payment.pg_account_id)
    if (refusal := why_not_sent_again(cancel, gateway, now)) is not None:
        raise PgUnavailable(
            f"This cancel was not sent again: {refusal}. It is waiting for a person."
        )
    if not gateway.accepts_new_operations():
        raise PgUnavailable("The payment gateway is unavailable; nothing was sent.")
    turn: Turn = None
    if not without_turn:
        turn, free_at = await take_turn_in(uow, cmd.tenant_id, cmd.payment_id, now)
        if free_at is not None:
            return _TurnHeld(free_at, now)
    # Before this sending's own row: a call of an earlier sending that left none is noted first.
    await note_unrecorded_cancel_calls(uow, deps, payment, [cancel])
    await uow.commit()
    return _Reserved(payment, cancel, in_full=False, turn=turn, gateway=gateway)


async def _answer_as_before(tenant_id: str, payment_id: str, cancel_id: str, deps: Deps) -> Payment:
    """The answer to a request whose cancel the PG has answered: the payment once it is done,
    the PG's refusal once refused."""
    async with deps.uow() as uow:
        payment = await uow.payments.get(tenant_id, payment_id)
    if payment is None:
        raise PaymentNotFound()
    cancel = payment.find_cancel(cancel_id)
    assert cancel is not None  # cancels are never deleted
    if cancel.status is CancelStatus.FAILED:
        failure = cancel.failure or Failure("REJECTED", "The payment gateway refused this cancel.")
        raise PaymentRejected(payment, failure.code, failure.message)
    return payment


async def _release(
    tenant_id: str,
    payment_id: str,
    cancel_id: str,
    refused: GatewayError,
    gateway: PaymentGateway,
    deps: Deps,
) -> Payment:
    """The PG refused the cancel: nothing was refunded. Its record is read back before the
    answer, since what we did not know may be why (a refund made in Toss's console left less
    than was asked): the caller is told the balance the PG has, and our books hold it too."""
    await _fail_cancel(tenant_id, payment_id, cancel_id, refused, deps)
    async with deps.uow() as uow:
        payment = await reload(uow, tenant_id, payment_id)
    with suppress(PgTimeout, PgUnavailable):  # unread, the refusal stands as it is
        payment = await _adopt_lookup(payment, gateway, deps)
    raise PaymentRejected(payment, refused.code, refused.message)


async def _fail_cancel(
    tenant_id: str, payment_id: str, cancel_id: str, refused: GatewayError, deps: Deps
) -> None:
    """The PG answered the cancel with a refusal: nothing was refunded, the reservation goes."""
    async with deps.uow() as uow:
        payment = await reload(uow, tenant_id, payment_id)
        audit.record_exchange(uow, deps, payment, refused.exchange, PgOperation.CANCEL)
        if payment.find_cancel(cancel_id) in payment.pending_cancels:
            payment.fail_cancel(cancel_id, Failure(refused.code, refused.message), deps.clock.now())
        if not payment.has_unknown_outcome:
            payment.schedule_reconcile(next_check_at(payment))
        await uow.commit()


async def _refused_request(
    cmd: CancelPayment,
    payment_id: str,
    cancel_id: str,
    refused: GatewayMisconfigured,
    gateway: PaymentGateway,
    deps: Deps,
) -> Payment:
    """The PG refused the request itself (400 INVALID_REQUEST, a key it does not take): it was
    not carried out, so its reservation goes at once rather than wait a day of replays. What
    changed meanwhile is read back: a virtual account paid while its cancel was on the way needs
    the customer's refund account (docs/api.md, Cancel rules, rule 4), which the request did
    not carry."""
    await _fail_cancel(cmd.tenant_id, payment_id, cancel_id, refused, deps)
    async with deps.uow() as uow:
        payment = await reload(uow, cmd.tenant_id, payment_id)
    with suppress(PgTimeout, PgUnavailable):  # unread, the refusal stands as it is
        payment = await _adopt_lookup(payment, gateway, deps)
    if payment.needs_refund_account and cmd.refund_account is None:
        raise RefundAccountRequired(
            "The virtual account was paid while this cancel was on its way: send "
            "refundReceiveAccount to refund the customer."
        )
    raise PaymentRejected(payment, refused.code, refused.message)


def _answer_for(payment: Payment, cancel_id: str, error: GatewayError) -> Payment:
    """The caller's answer once the PG's record was adopted: the payment if this cancel is done,
    the refusal if the record showed it can never be (the payment canceled at the PG
    meanwhile), and an unknown outcome while it is still pending (docs/api.md, Cancel rules)."""
    cancel = payment.find_cancel(cancel_id)
    assert cancel is not None  # cancels are never deleted
    if cancel.status is CancelStatus.FAILED:
        failure = cancel.failure or Failure(error.code, error.message)
        raise PaymentRejected(payment, failure.code, failure.message)
    if cancel.status is CancelStatus.PENDING:
        raise unknown_outcome(error)
    return payment


async def _adopt_lookup(
    payment: Payment, gateway: PaymentGateway, deps: Deps, refused: dict[str, Failure] | None = None
) -> Payment:
    assert payment.payment_key is not None
    try:
        found = await gateway.lookup_by_payment_key(payment.payment_key)
    except GatewayError as error:
        raise unknown_outcome(error) from error
    return await record_result(
        payment.tenant_id, payment.id, found, deps, PgOperation.LOOKUP, refused_cancels=refused
    )
