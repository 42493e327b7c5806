"""What the PG's answers about one claimed confirm mean, decided in one place.

A claimed payment is IN_PROGRESS with the paymentKey the customer's browser sent. Whatever the PG
answers — to the confirm, to its same-key replay by the reconciler, or to a look-up — comes down to
one verdict:

- Approved: the PG approved this payment: this order, this amount, this paymentKey.
- Refused: the PG definitively refused the approval: the payment is ABORTED.
- NotThisOrders: the paymentKey is unknown to the PG, or another order's. Nothing was approved,
  so the payment goes back to READY: a made-up key never blocks an order.
- OtherAmountUnapproved: the PG's record of the paymentKey is this order's payment window, but
  for another amount (or currency), and it approved nothing: the window was opened with an
  amount other than ours (the customer's browser runs the page's script), and the PG refused
  our confirm of ours. Nothing moved, so this confirm is refused as an amount mismatch and the
  payment goes back to READY, unflagged: no customer can put an order in front of a person.
- Disagrees: the PG's record names this paymentKey or order but another amount, order or key,
  and money moved (it approved something): an incident for a person, never adopted.
- Undecided: no usable answer yet; the reconciler asks again later.

Only an Approved verdict moves money into our books, and only the payment's own tenant ever sees
it: the record must name the order, amount and paymentKey of the claim.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from sunap.domain.payment import Failure, Payment, PaymentStatus

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
)

S = PaymentStatus
APPROVED_AT_PG = frozenset({S.DONE, S.WAITING_FOR_DEPOSIT, S.PARTIAL_CANCELED, S.CANCELED})
REFUSED_AT_PG = frozenset({S.ABORTED, S.EXPIRED})


# Approved, Refused and Disagrees keep, in `earlier`, the answers that led to the one that
# decided (a confirm refused as "already processed" before the look-up that settled it), so
# that every call to the PG reaches the audit trail.


@dataclass(frozen=True)
class Approved:
    truth: GatewayPayment
    earlier: tuple[GatewayExchange | None, ...] = ()


@dataclass(frozen=True)
class Refused:
    failure: Failure
    exchange: GatewayExchange | None
    earlier: tuple[GatewayExchange | None, ...] = ()
    # The PG's record says EXPIRED: its window closed with no confirm it ran (ours never
    # reached it), which is not a refusal of the customer's card.
    expired: bool = False


@dataclass(frozen=True)
class NotThisOrders:
    pg_code: str  # what the PG answered that told us
    exchanges: tuple[GatewayExchange | None, ...]


@dataclass(frozen=True)
class OtherAmountUnapproved:
    truth: GatewayPayment
    earlier: tuple[GatewayExchange | None, ...] = ()


@dataclass(frozen=True)
class Disagrees:
    truth: GatewayPayment
    reason: str
    earlier: tuple[GatewayExchange | None, ...] = ()

    @property
    def approved(self) -> bool:
        """Money may have moved: the payment must not go back to READY."""
        return self.truth.status in APPROVED_AT_PG


@dataclass(frozen=True)
class Undecided:
    error: GatewayError | None  # None: the PG answered, but has not decided yet
    exchanges: tuple[GatewayExchange | None, ...] = ()


ConfirmVerdict = Approved | Refused | NotThisOrders | OtherAmountUnapproved | Disagrees | Undecided


async def judge_attempt(
    payment: Payment, gateway: PaymentGateway, attempt: Callable[[], Awaitable[GatewayPayment]]
) -> ConfirmVerdict:
    """The verdict on one confirm call (or same-key replay) of the claimed payment."""
    try:
        answer = await attempt()
    except GatewayDeclined as declined:
        return Refused(Failure(declined.code, declined.message), declined.exchange)
    except GatewayNotFound as not_found:
        return NotThisOrders(not_found.code, (not_found.exchange,))
    except (GatewayAlreadyProcessed, GatewayMisconfigured) as unclear:
        # "Already processed" (an earlier attempt went through, or the key is another order's
        # payment) or "invalid request" (this key's order or amount is not ours): the key's own
        # record says which.
        return await judge_by_key(payment, gateway, unclear)
    except GatewayUnknown as unknown:
        return Undecided(unknown, (unknown.exchange,))
    return judge_record(payment, answer)


async def judge_by_key(
    payment: Payment, gateway: PaymentGateway, cause: GatewayError
) -> ConfirmVerdict:
    """Look the claimed paymentKey up at the PG and judge what its record says."""
    assert payment.payment_key is not None
    try:
        record = await gateway.lookup_by_payment_key(payment.payment_key)
    except GatewayNotFound as not_found:
        return NotThisOrders(cause.code, (cause.exchange, not_found.exchange))
    except GatewayError as error:
        return Undecided(error, (cause.exchange, error.exchange))
    if record.order_id != payment.order_id:
        return NotThisOrders(cause.code, (cause.exchange, _withheld(record.exchange)))
    verdict = judge_record(payment, record)
    if isinstance(verdict, Undecided) and isinstance(cause, GatewayMisconfigured):
        # The PG refused our request and has not approved the payment: the refusal stands as
        # an unknown outcome (our key or request may be wrong; an operator must look).
        return Undecided(cause, (cause.exchange, record.exchange))
    return _after(cause.exchange, verdict)


def _withheld(exchange: GatewayExchange | None) -> GatewayExchange | None:
    """The look-up of a paymentKey that is another order's, without what the PG said of that
    order: it may be another tenant's (its name, amount, card), and this trail is the caller's."""
    if exchange is None:
        return None
    withheld = {"withheld": "The PG's record of this paymentKey is another order's."}
    attempts = tuple(replace(a, response_data=withheld) for a in exchange.earlier)
    return replace(exchange, response_data=withheld, earlier=attempts)


def _after(exchange: GatewayExchange | None, verdict: ConfirmVerdict) -> ConfirmVerdict:
    """`verdict`, keeping the answer that came before it for the audit trail."""
    match verdict:
        case Undecided() | NotThisOrders():
            return replace(verdict, exchanges=(exchange, *verdict.exchanges))
        case Approved() | Refused() | OtherAmountUnapproved() | Disagrees():
            return replace(verdict, earlier=(exchange, *verdict.earlier))


def judge_record(payment: Payment, record: GatewayPayment) -> ConfirmVerdict:
    """The verdict on the PG's record of the claimed payment (an answer or a look-up)."""
    ours = (payment.payment_key, payment.order_id, payment.amount, payment.currency)
    theirs = (record.payment_key, record.order_id, record.total_amount, record.currency)
    if theirs != ours:
        if theirs[:2] == ours[:2] and record.status not in APPROVED_AT_PG:
            return OtherAmountUnapproved(record)
        return Disagrees(
            record,
            f"PG reports paymentKey {record.payment_key}, order {record.order_id}, "
            f"{record.total_amount} {record.currency}; we have {payment.payment_key}, "
            f"order {payment.order_id}, {payment.amount} {payment.currency}.",
        )
    if record.status in APPROVED_AT_PG:
        return Approved(record)
    if record.status in REFUSED_AT_PG:
        failure = record.failure or Failure(record.status.value, "The PG did not approve.")
        return Refused(failure, record.exchange, expired=record.status is S.EXPIRED)
    return Undecided(None, (record.exchange,))


async def look_up_claim(payment: Payment, gateway: PaymentGateway) -> ConfirmVerdict:
    """What the PG's record of the order says of the claim, without asking it to confirm (the
    claim's own call may still be on its way): only a decided record of this very claim
    settles it; anything else leaves it undecided."""
    try:
        record = await gateway.lookup_by_order_id(payment.order_id)
    except GatewayError as error:
        return Undecided(error, (error.exchange,))
    verdict = judge_record(payment, record)
    if isinstance(verdict, Approved | Refused):
        return verdict
    return Undecided(None, (record.exchange,))


async def judge_claim(
    payment: Payment, gateway: PaymentGateway
) -> tuple[ConfirmVerdict, tuple[GatewayExchange | None, ...]]:
    """Look the order up; when the PG has no decided record of this very claim under it, ask
    with the claim itself: the same paymentKey and Idempotency-Key. The PG answers a key it has
    seen with its first answer, and runs one it never saw."""
    assert payment.payment_key is not None and payment.confirm_idempotency_key is not None
    try:
        record = await gateway.lookup_by_order_id(payment.order_id)
    except GatewayNotFound as not_found:
        seen: tuple[GatewayExchange | None, ...] = (not_found.exchange,)
    except GatewayError as error:
        return Undecided(error, (error.exchange,)), ()
    else:
        seen = (record.exchange,)
        decided = record.status not in (PaymentStatus.IN_PROGRESS, PaymentStatus.READY)
        if record.payment_key == payment.payment_key and decided:
            return judge_record(payment, record), ()
    key, order_id = payment.payment_key, payment.order_id
    amount, idempotency_key = payment.amount, payment.confirm_idempotency_key

    async def replay() -> GatewayPayment:
        return await gateway.confirm(
            payment_key=key, order_id=order_id, amount=amount, idempotency_key=idempotency_key
        )

    return await judge_attempt(payment, gateway, replay), seen
