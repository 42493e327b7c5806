"""Confirm a payment when the widget comes back: one PG call, two short transactions around it.

Tx1 claims the payment (READY → IN_PROGRESS with the paymentKey sent, a fresh outbound
Idempotency-Key stored, a reconcile scheduled in case we never learn the answer); the PG is called
with no transaction open; Tx2 records the verdict on what the PG said (confirm_verdicts.py). A
crash between them is repaired by the reconciler, which reaches the same verdicts.
"""

from __future__ import annotations

import logging

from sunap.domain.errors import (
    AmountMismatch,
    ConfirmInProgress,
    NotConfirmableStatus,
    PaymentKeyTaken,
    PaymentNotFound,
)
from sunap.domain.payment import ConfirmStart, Failure, Payment, PaymentStatus

from . import audit, log_context
from .audit_kinds import AuditStatus, AuditType
from .commands import ConfirmPayment
from .confirm_verdicts import (
    Approved,
    ConfirmVerdict,
    Disagrees,
    NotThisOrders,
    OtherAmountUnapproved,
    Refused,
    Undecided,
    judge_attempt,
    judge_claim,
    look_up_claim,
)
from .deps import Deps
from .errors import InvalidPaymentKey, PaymentRejected, PgMismatch, PgUnavailable, StaleAggregate
from .optimism import lock_on_conflict
from .outcomes import apply_confirm_verdict, unknown_outcome
from .pg_accounts import gateway_within, with_account_at_hand
from .ports.gateway import GatewayPayment, PaymentGateway, PgOperation
from .ports.unit_of_work import UnitOfWork

log = logging.getLogger("sunap.confirm")

SETTLED = frozenset({PaymentStatus.DONE, PaymentStatus.WAITING_FOR_DEPOSIT})


def new_confirm_idempotency_key(payment: Payment, deps: Deps) -> str:
    """One key per claim, reused on every retry and replay of it: the PG dedups on the key
    alone and answers a reused key with its first answer, so a new claim (after a paymentKey
    that was not this order's) must not inherit the old one."""
    return f"sunap-confirm-{payment.id}-{deps.ids.new_id('c')[-8:]}"


# A paymentKey held by another payment's unanswered claim (another order, maybe another tenant on
# the same Toss account, trying the key) frees itself when the PG answers that claim: the key is not
# that order's, so the PG refuses it. The caller waits this long for that instead of being told the
# key is not its own.
KEY_HELD_WAIT_SECONDS = 5.0
KEY_HELD_POLL_SECONDS = 0.2


class _KeyTaken(Exception):
    def __init__(self, pg_account_id: str) -> None:
        super().__init__(pg_account_id)
        self.pg_account_id = pg_account_id


class _KeyHeldTooLong(Exception):
    pass


async def confirm_payment(cmd: ConfirmPayment, deps: Deps) -> Payment:
    try:
        claimed = await _claim_when_key_free(cmd, deps)
    except _KeyHeldTooLong:
        raise ConfirmInProgress(
            "This paymentKey is being confirmed for another order at the payment gateway; "
            "nothing was sent. Retry in a few seconds."
        ) from None
    except ConfirmInProgress:
        return await _settle_earlier_attempt(cmd, deps)
    log_context.bind(payment_id=claimed.id)
    if claimed.status is not PaymentStatus.IN_PROGRESS:
        return claimed  # approved before with this paymentKey: confirm rule 3 (docs/api.md), no PG call
    gateway = await deps.accounts.gateway(claimed.pg_account_id)
    assert claimed.confirm_idempotency_key is not None
    key = claimed.confirm_idempotency_key

    async def attempt() -> GatewayPayment:
        return await gateway.confirm(
            payment_key=cmd.payment_key,
            order_id=claimed.order_id,
            amount=claimed.amount,
            idempotency_key=key,
        )

    verdict = await judge_attempt(claimed, gateway, attempt)  # reads `claimed`, never changes it
    payment = await apply_confirm_verdict(
        claimed, verdict, deps, PgOperation.CONFIRM, call_ended=True, claimed_as_committed=True
    )
    return answer(payment, cmd.payment_key, verdict)


def answer(payment: Payment, payment_key: str, verdict: ConfirmVerdict) -> Payment:
    """The confirm caller's answer: a payment only when it is DONE or WAITING_FOR_DEPOSIT."""
    if payment.status in SETTLED and payment.payment_key == payment_key:
        return payment
    match verdict:
        case Refused(failure=failure):
            raise PaymentRejected(payment, failure.code, failure.message)
        case NotThisOrders(pg_code=pg_code):
            raise InvalidPaymentKey(
                pg_code,
                "The paymentKey is not this order's at the payment gateway; nothing was "
                "approved and the order can be paid again.",
            )
        case OtherAmountUnapproved(truth=truth):
            raise AmountMismatch(
                f"The payment window was opened for {truth.total_amount}, not the payment's "
                f"amount {payment.amount}; nothing was approved and the order can be paid again."
            )
        case Disagrees():
            raise PgMismatch(
                "The payment gateway's record of this payment disagrees with ours; "
                "it was set aside for a person to check."
            )
        case Undecided(error=error) if error is not None:
            raise unknown_outcome(error)
        case Undecided():
            raise PgUnavailable("The payment gateway has not settled this payment yet.")
        case Approved():
            raise NotConfirmableStatus(
                f"The payment was approved and is now {payment.status} at the payment gateway."
            )


async def _claim(cmd: ConfirmPayment, deps: Deps) -> Payment:
    """Claim the payment for one PG call; a payment not IN_PROGRESS afterwards needs none."""
    return await lock_on_conflict(deps, lambda uow, locked: _claim_in(uow, locked, cmd, deps))


async def _claim_in(uow: UnitOfWork, locked: bool, cmd: ConfirmPayment, deps: Deps) -> Payment:
    now = deps.clock.now()
    payment = await uow.payments.get_by_order_id(cmd.tenant_id, cmd.order_id, for_update=locked)
    if payment is None:
        raise PaymentNotFound()
    gateway = gateway_within(deps.accounts, payment.pg_account_id)
    try:
        start = payment.begin_confirm(
            payment_key=cmd.payment_key,
            amount=cmd.amount,
            idempotency_key=new_confirm_idempotency_key(payment, deps),
            now=now,
        )
    except AmountMismatch:
        audit.record(
            uow,
            deps,
            payment,
            AuditType.CONFIRM_AMOUNT_MISMATCH,
            AuditStatus.REJECTED,
            request={"paymentKey": cmd.payment_key, "amount": cmd.amount},
            response={"expectedAmount": payment.amount},
        )
        await uow.commit()
        raise
    if start is ConfirmStart.ALREADY_APPROVED:
        return payment
    if start is ConfirmStart.ALREADY_FAILED:
        failure = payment.failure or Failure("UNKNOWN", "The payment was refused.")
        raise PaymentRejected(payment, failure.code, failure.message)
    _refuse_if_gateway_down(gateway)
    payment.schedule_reconcile(now + deps.reconcile_delays[0], attempts=0)
    audit.record(
        uow,
        deps,
        payment,
        AuditType.CONFIRM_CLAIMED,
        AuditStatus.OK,
        # The Idempotency-Key the confirm call is sent under next: should this process die
        # before that call's answer is recorded, the call is still known by it (outcomes.py).
        request={
            "paymentKey": cmd.payment_key,
            "amount": cmd.amount,
            "claim": payment.confirm_idempotency_key,
        },
    )
    try:
        await uow.commit()
    except StaleAggregate as conflict:
        if not locked:
            raise  # read again, locked (lock_on_conflict)
        raise ConfirmInProgress("A confirm of this payment is in progress.") from conflict
    except PaymentKeyTaken as taken:
        raise _KeyTaken(payment.pg_account_id) from taken
    return payment


async def _claim_when_key_free(cmd: ConfirmPayment, deps: Deps) -> Payment:
    """Claim; when another payment holds the paymentKey, tell a settled holder (the key is that
    order's: 400 INVALID_PAYMENT_KEY) from an unanswered claim, which is waited out and then
    answered 409 CONFIRM_IN_PROGRESS: a claim anyone can make with a key they saw must not make
    the key's own order look unpaid (docs/api.md, Confirm rules, rule 8)."""
    waited = 0.0
    while True:
        try:
            return await with_account_at_hand(deps.accounts, lambda: _claim(cmd, deps))
        except _KeyTaken as taken:
            async with deps.uow() as uow:
                holder = await uow.payments.get_by_payment_key(taken.pg_account_id, cmd.payment_key)
            if holder is not None and holder.status is not PaymentStatus.IN_PROGRESS:
                raise InvalidPaymentKey(
                    None, "This paymentKey belongs to another payment; nothing was sent."
                ) from None
            if waited >= KEY_HELD_WAIT_SECONDS:
                raise _KeyHeldTooLong() from None
            if holder is not None:  # None: released since; claim again at once
                await deps.sleep(KEY_HELD_POLL_SECONDS)
            waited += KEY_HELD_POLL_SECONDS


def _refuse_if_gateway_down(gateway: PaymentGateway) -> None:
    if not gateway.accepts_new_operations():
        raise PgUnavailable("The payment gateway is unavailable; nothing was sent. Retry later.")


async def _settle_earlier_attempt(cmd: ConfirmPayment, deps: Deps) -> Payment:
    """A confirm of this payment was sent before and its answer may be lost (docs/api.md,
    Confirm rules, rule 6). Once that call has ended with no answer to go by (its
    `confirm.unanswered` row: only the confirm's own second transaction writes it, after its
    call is over), the claim is sent again, as the reconciler would: the order looked up, then
    the same paymentKey under the claim's own Idempotency-Key, which Toss runs once however
    often it arrives. Until then (the first call may still be on its way: rule 4) the order is
    only looked up. Either way the calls are in the trail."""
    async with deps.uow() as uow:
        payment = await uow.payments.get_by_order_id(cmd.tenant_id, cmd.order_id)
    in_progress = ConfirmInProgress("A confirm of this payment is in progress.")
    if payment is None or payment.payment_key != cmd.payment_key:
        raise in_progress
    gateway = await deps.accounts.gateway(payment.pg_account_id)
    if await _first_call_ended(payment, deps):
        verdict, seen = await judge_claim(payment, gateway)
        settled = await apply_confirm_verdict(
            payment, verdict, deps, PgOperation.CONFIRM, also_seen=seen, call_ended=True
        )
    else:
        verdict = await look_up_claim(payment, gateway)
        settled = await apply_confirm_verdict(payment, verdict, deps, PgOperation.LOOKUP)
    # Settled meanwhile (by the first call's answer, a webhook, the reconciler): answer() says so.
    meanwhile = settled.status in SETTLED and settled.payment_key == cmd.payment_key
    if isinstance(verdict, Undecided) and not meanwhile:
        raise in_progress
    return answer(settled, cmd.payment_key, verdict)


async def _first_call_ended(payment: Payment, deps: Deps) -> bool:
    """Whether the claim's own confirm call is over, its answer lost (its trail says so)."""
    if payment.status is not PaymentStatus.IN_PROGRESS or payment.confirm_idempotency_key is None:
        return False
    async with deps.read_uow() as uow:
        trail = await uow.audit.list_for_payment(payment.tenant_id, payment.id)
    claim = payment.confirm_idempotency_key
    return any(
        entry.type == AuditType.CONFIRM_UNANSWERED
        and (entry.request_data or {}).get("claim") == claim
        for entry in trail
    )
