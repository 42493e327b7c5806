"""Confirm a payment when the widget comes back: one PG call, two short transactions around it.

Tx1 claims the payment (READY → IN_PROGRESS, our outbound Idempotency-Key stored, a reconcile
scheduled in case we never learn the answer); the PG is called with no transaction open; Tx2
records what the PG said. A crash between them is repaired by the reconciler.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sunap.domain.errors import AmountMismatch, ConfirmInProgress, DomainError, PaymentNotFound
from sunap.domain.payment import ConfirmStart, Failure, Payment, PaymentStatus

from . import audit
from .commands import ConfirmPayment
from .deps import Deps
from .errors import PaymentRejected, PgUnavailable
from .gateway import (
    GatewayAlreadyProcessed,
    GatewayDeclined,
    GatewayError,
    GatewayMisconfigured,
    GatewayNotFound,
    GatewayUnknown,
)
from .outcomes import record_call, record_result, reload, unknown_outcome
from .ports import ConcurrencyConflict

log = logging.getLogger("sunap.confirm")


def confirm_idempotency_key(payment: Payment) -> str:
    """One key per payment's confirm, reused on every retry: Toss dedups on the key alone."""
    return f"sunap-confirm-{payment.id}"


async def confirm_payment(cmd: ConfirmPayment, deps: Deps) -> Payment:
    if not deps.gateway.accepts_new_operations():
        raise PgUnavailable("The payment gateway is unavailable; nothing was sent. Retry later.")
    try:
        payment, claimed = await _claim(cmd, deps)
    except ConfirmInProgress:
        return await _settle_earlier_attempt(cmd, deps)
    if not claimed:
        return payment  # approved before with this paymentKey: rule 3, no PG call
    try:
        result = await deps.gateway.confirm(
            payment_key=cmd.payment_key,
            order_id=payment.order_id,
            amount=payment.amount,
            idempotency_key=confirm_idempotency_key(payment),
        )
    except GatewayDeclined as declined:
        return await _record_refusal(payment.id, cmd, declined, deps)
    except GatewayAlreadyProcessed as already:
        await record_call(payment.id, cmd.tenant_id, already, deps, "confirm")
        return await _adopt_lookup(payment, deps, _not_settled_yet)
    except (GatewayUnknown, GatewayMisconfigured, GatewayNotFound) as unknown:
        await record_call(payment.id, cmd.tenant_id, unknown, deps, "confirm")
        raise unknown_outcome(unknown) from unknown
    return await record_result(payment.id, cmd.tenant_id, result, deps, "confirm")


async def _claim(cmd: ConfirmPayment, deps: Deps) -> tuple[Payment, bool]:
    now = deps.clock.now()
    async with deps.uow() as uow:
        payment = await uow.payments.get_by_order_id(cmd.tenant_id, cmd.order_id, for_update=True)
        if payment is None:
            raise PaymentNotFound()
        try:
            start = payment.begin_confirm(
                payment_key=cmd.payment_key,
                amount=cmd.amount,
                idempotency_key=confirm_idempotency_key(payment),
                now=now,
            )
        except AmountMismatch:
            audit.record(
                uow,
                deps,
                payment,
                "confirm.amount_mismatch",
                "rejected",
                request={"paymentKey": cmd.payment_key, "amount": cmd.amount},
                response={"expectedAmount": payment.amount},
            )
            await uow.commit()
            raise
        if start is ConfirmStart.ALREADY_APPROVED:
            return payment, False
        if start is ConfirmStart.ALREADY_FAILED:
            failure = payment.failure or Failure("UNKNOWN", "The payment was refused.")
            raise PaymentRejected(payment, failure.code, failure.message)
        payment.schedule_reconcile(now + deps.reconcile_delays[0], attempts=0)
        audit.record(
            uow,
            deps,
            payment,
            "confirm.claimed",
            "ok",
            request={"paymentKey": cmd.payment_key, "amount": cmd.amount},
        )
        try:
            await uow.commit()
        except ConcurrencyConflict as conflict:
            raise ConfirmInProgress("A confirm of this payment is in progress.") from conflict
        return payment, True


async def _record_refusal(
    payment_id: str, cmd: ConfirmPayment, declined: GatewayDeclined, deps: Deps
) -> Payment:
    async with deps.uow() as uow:
        payment = await reload(uow, cmd.tenant_id, payment_id)
        audit.record_exchange(uow, deps, payment, declined.exchange, "confirm")
        if payment.status is PaymentStatus.IN_PROGRESS:
            payment.abort(Failure(declined.code, declined.message), deps.clock.now())
            payment.schedule_reconcile(None)
        await uow.commit()
    raise PaymentRejected(payment, declined.code, declined.message)


async def _settle_earlier_attempt(cmd: ConfirmPayment, deps: Deps) -> Payment:
    """A confirm of this payment was sent before and its answer may be lost (confirm rule 6):
    a read at the PG settles it if the PG has decided; otherwise the attempt is still running."""
    async with deps.uow() as uow:
        payment = await uow.payments.get_by_order_id(cmd.tenant_id, cmd.order_id)
    if payment is None or payment.payment_key != cmd.payment_key:
        raise ConfirmInProgress("A confirm of this payment is in progress.")
    return await _adopt_lookup(
        payment, deps, lambda _: ConfirmInProgress("A confirm of this payment is in progress.")
    )


def _not_settled_yet(error: GatewayError | None) -> DomainError:
    if error is not None:
        return unknown_outcome(error)
    return PgUnavailable("The payment gateway has not settled this payment yet.")


async def _adopt_lookup(
    payment: Payment, deps: Deps, undecided: Callable[[GatewayError | None], DomainError]
) -> Payment:
    """Ask the PG what became of the payment and adopt it (confirm rule 7); `undecided` is
    raised when the PG cannot be asked or has not decided yet."""
    try:
        found = await deps.gateway.lookup_by_order_id(payment.order_id)
    except GatewayError as error:
        raise undecided(error) from error
    if found.status is PaymentStatus.IN_PROGRESS:
        raise undecided(None)
    settled = await record_result(payment.id, payment.tenant_id, found, deps, "lookup")
    if settled.status is PaymentStatus.ABORTED and settled.failure is not None:
        raise PaymentRejected(settled, settled.failure.code, settled.failure.message)
    return settled
