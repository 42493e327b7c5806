"""Charging a billing key: a one-off charge or a subscription's period, two short transactions
around one PG call.

Tx1 (the caller's) claims: a payment IN_PROGRESS with the orderId and outbound Idempotency-Key
stored, a reconcile scheduled in case no answer comes back, and for a subscription the charge
marked in flight. The PG is called with no transaction open. Tx2 records what the PG said on the
payment and, for a subscription, on the subscription. A crash between them, or an answer we did
not get, is settled by the reconciler, which sends the very same charge again: the PG answers a
key it has seen with its first answer and never charges twice. A refusal of a charge sent again
is checked against the PG's record of its order before it is booked (`_order_record`).
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime

from sunap.domain.billing_key import BillingKey
from sunap.domain.payment import Failure, Payment, PaymentStatus
from sunap.domain.subscription import Subscription

from . import audit
from .adopt import approval_from, check_again_soon
from .audit_kinds import AuditStatus, AuditType
from .deps import Deps
from .errors import ChargeTimeout, ChargeUnavailable, SecretsKeyMissing
from .ports.gateway import (
    GatewayAlreadyProcessed,
    GatewayDeclined,
    GatewayError,
    GatewayExchange,
    GatewayMisconfigured,
    GatewayNotFound,
    GatewayPayment,
    GatewayUnknown,
    PaymentGateway,
    PgOperation,
    never_sent,
)
from .ports.unit_of_work import UnitOfWork
from .secrets import SecretsUnavailable

log = logging.getLogger("sunap.billing")


class ChargeVerdict(enum.Enum):
    APPROVED = "approved"
    REFUSED = "refused"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ChargeResult:
    verdict: ChargeVerdict
    payment: Payment
    subscription: Subscription | None
    error: GatewayError | None = None


def unknown_charge(result: ChargeResult) -> ChargeTimeout | ChargeUnavailable:
    """The caller's answer when the charge's outcome is unknown: never a failure, and kept for
    the request's Idempotency-Key so that a retry cannot charge again under a new orderId."""
    error = result.error
    if isinstance(error, GatewayUnknown) and error.timed_out:
        return ChargeTimeout(
            "Toss did not answer the charge in time; its outcome is being checked."
        )
    return ChargeUnavailable(
        "Toss could not be reached for the charge; its outcome is being checked."
    )


def claim_payment(
    uow: UnitOfWork,
    deps: Deps,
    key: BillingKey,
    *,
    order_id: str,
    order_name: str,
    amount: int,
    idempotency_key: str,
    now: datetime,
    subscription_id: str | None = None,
    metadata: dict[str, str] | None = None,
    tax_free_amount: int = 0,
) -> Payment:
    """The payment of one charge, claimed (IN_PROGRESS) in the caller's transaction."""
    require_openable(key, deps)
    payment = Payment.create(
        id=deps.ids.new_id("pay"),
        tenant_id=key.tenant_id,
        pg_account_id=key.pg_account_id,
        order_id=order_id,
        order_name=order_name,
        amount=amount,
        currency="KRW",
        now=now,
        customer_key=key.customer_key,
        metadata=metadata,
        tax_free_amount=tax_free_amount,
    )
    payment.billing_key_id = key.id
    payment.subscription_id = subscription_id
    payment.begin_billing_charge(idempotency_key=idempotency_key, now=now)
    # On the real clock, whatever time the scheduler runs as (`run-due --at`): the reconciler
    # asks Toss about the call we are about to make, which happens now.
    payment.schedule_reconcile(deps.clock.now() + deps.reconcile_delays[0], attempts=0)
    uow.payments.add(payment)
    audit.record(
        uow,
        deps,
        payment,
        AuditType.BILLING_CHARGE_CLAIMED,
        AuditStatus.OK,
        request={"billingKeyId": key.id, "orderId": order_id, "amount": amount},
    )
    return payment


def require_openable(key: BillingKey, deps: Deps) -> None:
    """Refuse a charge the billing key of which this process cannot open (no secrets key, or
    not the one it was sealed with) before anything is claimed: claimed, it was answered as the
    PG's failure (502) and left for the reconciler, though nothing could ever be sent."""
    try:
        deps.billing.box.open(key.sealed_credential)
    except SecretsUnavailable as locked:
        raise SecretsKeyMissing(f"{locked} Nothing was charged.") from None


async def send_charge(
    payment_id: str, deps: Deps, now: datetime | None = None, *, again: bool = False
) -> ChargeResult:
    """Send (or send `again`, with the same Idempotency-Key, a charge whose first call's
    outcome is unknown) the claimed charge and record the answer. `now` is when the
    subscription's dunning counts from (the scheduler's time)."""
    async with deps.uow() as uow:
        payment = await uow.payments.get_any_tenant(payment_id)
        assert payment is not None and payment.billing_key_id is not None
        key = await uow.billing_keys.get_any_tenant(payment.billing_key_id)
        assert key is not None
    if payment.status is not PaymentStatus.IN_PROGRESS:
        return await _as_settled(payment, deps)
    return await _record(payment.id, await _call(payment, key, deps, again=again), deps, now)


@dataclass(frozen=True)
class _Heard:
    """What the PG said of the charge: its record of it, or the error that stands for its
    answer, and every call made to learn that, in order, for the trail."""

    answer: GatewayPayment | None
    error: GatewayError | None
    exchanges: tuple[GatewayExchange | None, ...]


async def _call(payment: Payment, key: BillingKey, deps: Deps, *, again: bool) -> _Heard:
    assert payment.confirm_idempotency_key is not None
    try:
        gateway = await deps.accounts.gateway(payment.pg_account_id)
        credential = deps.billing.box.open(key.sealed_credential)
    except SecretsUnavailable as locked:  # claimed before require_openable, or its key removed
        return _Heard(None, GatewayUnknown("SECRETS_UNAVAILABLE", str(locked)), (None,))
    try:
        answer = await gateway.charge_billing_key(
            billing_key=credential,
            customer_key=key.customer_key,
            order_id=payment.order_id,
            order_name=payment.order_name,
            amount=payment.amount,
            idempotency_key=payment.confirm_idempotency_key,
            tax_free_amount=payment.tax_free_amount,
        )
    except GatewayAlreadyProcessed as processed:
        # The orderId was charged before (by an attempt whose answer we lost): its record says.
        return await _order_record(payment, gateway, processed, undecided=processed)
    except (GatewayDeclined, GatewayNotFound) as refused:
        if again:
            return await _order_record(payment, gateway, refused, undecided=None)
        return _Heard(None, refused, (refused.exchange,))
    except GatewayError as error:
        return _Heard(None, error, (error.exchange,))
    return _Heard(answer, None, (answer.exchange,))


async def _order_record(
    payment: Payment,
    gateway: PaymentGateway,
    cause: GatewayError,
    *,
    undecided: GatewayError | None,
) -> _Heard:
    """The PG's record of the charge's order, after an answer that does not say by itself what
    became of it. `undecided`: what stands when the PG holds no record of the order; None for a
    refusal of the charge sent again, which then stands.

    A refusal of a charge sent again may be a refusal of that call only: a PG that did not know
    its key (it keeps an Idempotency-Key per secret key, and for 15 days) ran it as a new call,
    and the first may have been charged before the billing key was deleted (NOT_FOUND_BILLING)
    or the card stopped. Booked refused on that alone, a period the customer paid was recorded
    unpaid, and dunning charged it again. So the order is looked up, as the confirm reconciler
    does: paid there, it is adopted; nothing there, or refused there, and the refusal stands;
    no answer, and the outcome stays unknown."""
    try:
        record = await gateway.lookup_by_order_id(payment.order_id)
    except GatewayNotFound as nothing:
        stands = undecided or cause
        return _Heard(None, stands, (cause.exchange, nothing.exchange))
    except GatewayError as error:
        return _Heard(None, _unknown(error), (cause.exchange, error.exchange))
    refused_there = record.status in (PaymentStatus.ABORTED, PaymentStatus.EXPIRED)
    if undecided is None and refused_there and _is_of(payment, record):
        return _Heard(None, cause, (cause.exchange, record.exchange))  # the refusal stands
    return _Heard(record, None, (cause.exchange, record.exchange))


def _unknown(error: GatewayError) -> GatewayError:
    """A look-up that did not answer leaves the outcome unknown, whatever its error's class."""
    if isinstance(error, GatewayUnknown | GatewayMisconfigured):
        return error
    return GatewayUnknown(error.code, error.message, exchange=error.exchange)


async def _record(payment_id: str, heard: _Heard, deps: Deps, at: datetime | None) -> ChargeResult:
    now = deps.clock.now()
    async with deps.uow() as uow:
        payment = await uow.payments.get_any_tenant(payment_id, for_update=True)
        assert payment is not None
        if payment.status is PaymentStatus.IN_PROGRESS:
            return await _record_in(uow, payment, heard, deps, at or now, now)
    # Settled meanwhile (the reconciler, or the request that claimed it): read with this
    # transaction ended, never a second connection inside it.
    return await _as_settled(payment, deps)


async def _record_in(
    uow: UnitOfWork,
    payment: Payment,
    heard: _Heard,
    deps: Deps,
    at: datetime,
    now: datetime,
) -> ChargeResult:
    """Apply the answer to a payment still IN_PROGRESS, and to its subscription, in `uow`."""
    answer, error = heard.answer, heard.error
    for exchange in heard.exchanges:
        _audit_exchange(uow, deps, payment, exchange)
    verdict = _judge(payment, answer, error)
    if verdict is ChargeVerdict.APPROVED:
        assert answer is not None
        payment.approve(approval_from(answer, PaymentStatus.DONE), now)
        payment.schedule_reconcile(None, attempts=0)
    elif verdict is ChargeVerdict.REFUSED:
        failure = _failure(answer, error)
        payment.abort(failure, now)
        payment.schedule_reconcile(None, attempts=0)
    else:
        _retry_later(payment, deps, now, answer, asked=not never_sent(error))
    subscription = await _settle_subscription(uow, payment, verdict, deps, at)
    await uow.commit()
    return ChargeResult(verdict, payment, subscription, error)


def _judge(
    payment: Payment, answer: GatewayPayment | None, error: GatewayError | None
) -> ChargeVerdict:
    if isinstance(error, GatewayDeclined | GatewayNotFound):
        return ChargeVerdict.REFUSED  # a refused card, or a key the PG no longer knows
    if answer is None:
        return ChargeVerdict.UNKNOWN
    if not _is_of(payment, answer):
        return ChargeVerdict.UNKNOWN  # not this charge's record: a person looks (_retry_later)
    if answer.status is PaymentStatus.DONE:
        return ChargeVerdict.APPROVED
    if answer.status in (PaymentStatus.ABORTED, PaymentStatus.EXPIRED):
        return ChargeVerdict.REFUSED
    return ChargeVerdict.UNKNOWN


def _is_of(payment: Payment, record: GatewayPayment) -> bool:
    """The PG's record is of this charge: its order, for its amount."""
    return (record.order_id, record.total_amount) == (payment.order_id, payment.amount)


def _failure(answer: GatewayPayment | None, error: GatewayError | None) -> Failure:
    if error is not None:
        return Failure(error.code, error.message)
    if answer is not None and answer.failure is not None:
        return answer.failure
    return Failure("REJECTED", "The payment gateway refused the charge.")


def _retry_later(
    payment: Payment, deps: Deps, now: datetime, answer: GatewayPayment | None, *, asked: bool
) -> None:
    """No usable answer: ask again on the reconciler's backoff; after the last, a person looks.
    A call refused by this process's open circuit breaker (not `asked`) uses none of it
    (`check_again_soon`). A record of the PG that cannot settle it goes to a person at once."""
    unusable = _why_unusable(payment, answer) if answer is not None else None
    if unusable is not None:
        payment.flag_for_review(unusable, now)
        payment.schedule_reconcile(None)
        return
    delays = deps.reconcile_delays
    if not asked and check_again_soon(payment, deps, now):
        return
    attempts = payment.reconcile_attempts + 1
    if attempts >= len(delays):
        payment.flag_for_review("The charge's outcome stayed unknown after every retry.", now)
        payment.schedule_reconcile(None, attempts=attempts)
        return
    payment.schedule_reconcile(now + delays[attempts], attempts=attempts)


def _why_unusable(payment: Payment, answer: GatewayPayment) -> str | None:
    """Why the PG's record of the order cannot settle the charge, if it cannot; None for one
    the PG has not decided yet (asked again later)."""
    if not _is_of(payment, answer):
        return (
            f"The PG's record of order {answer.order_id} ({answer.total_amount}) is not this "
            f"charge's ({payment.order_id}, {payment.amount})."
        )
    if answer.status in (PaymentStatus.READY, PaymentStatus.IN_PROGRESS):
        return None
    return (
        f"The PG's record of order {answer.order_id} is {answer.status}, neither paid nor refused."
    )


async def _settle_subscription(
    uow: UnitOfWork, payment: Payment, verdict: ChargeVerdict, deps: Deps, at: datetime
) -> Subscription | None:
    if payment.subscription_id is None:
        return None
    sub = await uow.subscriptions.get_any_tenant(payment.subscription_id, for_update=True)
    if sub is None or sub.charging_payment_id != payment.id:
        return sub
    if verdict is ChargeVerdict.APPROVED:
        _renew(uow, deps, sub, payment, at)
    elif verdict is ChargeVerdict.REFUSED:
        _refuse(uow, deps, sub, payment, at)
    return sub


def _renew(uow: UnitOfWork, deps: Deps, sub: Subscription, payment: Payment, at: datetime) -> None:
    if sub.charge_succeeded(payment.id, at, deps.billing.zone):
        audit.record_subscription_change(
            uow, deps, sub, AuditType.SUBSCRIPTION_RENEWED, payment_id=payment.id
        )
        return
    payment.flag_for_review(
        f"Approved after subscription {sub.id} became {sub.status}: this charge pays "
        "for a period the subscription will not give. Refund it, or keep it.",
        at,
    )
    log.warning("charge %s approved after its subscription ended", payment.id)


def _refuse(uow: UnitOfWork, deps: Deps, sub: Subscription, payment: Payment, at: datetime) -> None:
    if sub.charge_refused(payment.id, at, deps.billing.dunning):
        audit.record_subscription_change(
            uow,
            deps,
            sub,
            AuditType.SUBSCRIPTION_PAYMENT_FAILED,
            AuditStatus.DECLINED,
            payment_id=payment.id,
        )


async def _as_settled(payment: Payment, deps: Deps) -> ChargeResult:
    async with deps.uow() as uow:
        sub = (
            await uow.subscriptions.get_any_tenant(payment.subscription_id)
            if payment.subscription_id
            else None
        )
    if payment.status is PaymentStatus.DONE or payment.status is PaymentStatus.CANCELED:
        return ChargeResult(ChargeVerdict.APPROVED, payment, sub)
    if payment.status is PaymentStatus.ABORTED:
        return ChargeResult(ChargeVerdict.REFUSED, payment, sub)
    return ChargeResult(ChargeVerdict.UNKNOWN, payment, sub)


def _audit_exchange(
    uow: UnitOfWork, deps: Deps, payment: Payment, exchange: GatewayExchange | None
) -> None:
    audit.record_exchange(uow, deps, payment, exchange, PgOperation.BILLING_CHARGE)
