"""The hosted checkout: a payment page reached through a signed link, and the return from the
payment window, confirmed on the server through the same use case as the API.

Exactly once: a reload, the back button or a double click brings the same paymentKey back, and
confirm_payment answers a payment already approved with that key without calling the PG (and a
second caller while the first is running waits for the first's result here). A window that
reports a failure never overrides a payment that is in fact paid. An outcome the PG did not give
us is "pending", never "failed".
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from sunap.domain.errors import ConfirmInProgress, SunapError
from sunap.domain.payment import Payment, PaymentStatus

from .checkout_links import CheckoutLinks, LinkCheck
from .commands import ConfirmPayment
from .confirm_payment import SETTLED, confirm_payment
from .deps import Deps
from .errors import (
    ConcurrentUpdate,
    InvalidPaymentKey,
    PaymentRejected,
    PgTimeout,
    PgUnavailable,
)

# How long a second return of one payment waits for the first one's confirm to finish.
WAIT_FOR_OTHER_CONFIRM = timedelta(seconds=8)
POLL_EVERY = 0.2


class LinkRefused(Exception):
    """The link is not one we made for this payment, or it has expired."""

    def __init__(self, check: LinkCheck) -> None:
        super().__init__(check.value)
        self.check = check


@dataclass(frozen=True)
class Paid:
    payment: Payment


@dataclass(frozen=True)
class NotPaid:
    payment: Payment
    code: (
        str  # Sunap's code (AMOUNT_MISMATCH, PG_REJECTED…) or the window's (PAY_PROCESS_CANCELED…)
    )
    # The PG's or its window's own words, passed on as they came (Toss writes them for the
    # customer, in Korean). None for Sunap's own refusals: the page words those from `code`, in
    # the customer's language, since the merchant shows them to the customer.
    pg_message: str | None = None
    pg_code: str | None = None  # the PG's own code, when it refused


@dataclass(frozen=True)
class Pending:
    """The PG's answer is not known yet; asking again later settles it."""

    payment: Payment


CheckoutOutcome = Paid | NotPaid | Pending


async def payment_for_link(
    payment_id: str,
    token: str | None,
    links: CheckoutLinks,
    deps: Deps,
    *,
    expired_ok: bool = False,
) -> Payment:
    """The payment a link opens; LinkRefused if it opens none (an unknown id looks the same as a
    forged token: a link reveals nothing about payments it was not made for). `expired_ok`: the
    window's return, whose link may have expired while the customer was paying; what it asks
    for is checked against Toss's own record of the approval, so its age adds no risk."""
    async with deps.uow() as uow:
        payment = await uow.payments.get_any_tenant(payment_id)
    if payment is None:
        raise LinkRefused(LinkCheck.INVALID)
    check = links.check(token, payment, deps.clock.now())
    if check is LinkCheck.VALID or (check is LinkCheck.EXPIRED and expired_ok):
        return payment
    raise LinkRefused(check)


def is_paid(payment: Payment) -> bool:
    return payment.status in SETTLED and payment.payment_key is not None


async def complete_checkout(
    payment: Payment,
    *,
    payment_key: str,
    order_id: str,
    amount: int,
    deps: Deps,
    wait: timedelta = WAIT_FOR_OTHER_CONFIRM,
) -> CheckoutOutcome:
    """The window came back approved: confirm it, once."""
    if order_id != payment.order_id:
        return NotPaid(payment, "INVALID_REQUEST")  # the orderId is not this payment's
    command = ConfirmPayment(
        tenant_id=payment.tenant_id, payment_key=payment_key, order_id=order_id, amount=amount
    )
    deadline = asyncio.get_running_loop().time() + wait.total_seconds()
    while True:
        try:
            return await _confirmed(command, payment, deps)
        except ConfirmInProgress:
            outcome = await _outcome_of_other_confirm(payment, deps, deadline)
            if outcome is not None:
                return outcome
            # The other return's key was not this order's: this return's own is still untried.


async def _confirmed(command: ConfirmPayment, payment: Payment, deps: Deps) -> CheckoutOutcome:
    """The confirm's outcome; ConfirmInProgress if another return of the payment is confirming."""
    try:
        return Paid(await confirm_payment(command, deps))
    except (PgTimeout, PgUnavailable, ConcurrentUpdate):
        return Pending(await _reread(payment, deps))
    except PaymentRejected as rejected:
        return NotPaid(rejected.payment, rejected.code, rejected.pg_message, rejected.pg_code)
    except InvalidPaymentKey as invalid:
        return await _unless_paid(payment, deps, invalid.code, invalid.pg_code)
    except ConfirmInProgress:
        raise  # the caller waits for the other return
    except SunapError as refused:
        return await _unless_paid(payment, deps, refused.code)


async def _unless_paid(
    payment: Payment, deps: Deps, code: str, pg_code: str | None = None
) -> CheckoutOutcome:
    """A refused return of a payment that another tab's return paid (with its own paymentKey)
    still ends on the success page: the order is paid, and a failure page would invite the
    customer to pay it again. This window's approval is never confirmed, so it charges nothing."""
    current = await _reread(payment, deps)
    if is_paid(current):
        return Paid(current)
    return NotPaid(current, code, pg_code=pg_code)


async def window_failed(
    payment: Payment, code: str, message: str | None, deps: Deps
) -> CheckoutOutcome:
    """The window came back with a failure (declined, given up), in its own words (`message`,
    None when it gave none). A payment that another tab or an earlier return already paid stays
    paid: the later failure says nothing about it."""
    current = await _reread(payment, deps)
    if is_paid(current):
        return Paid(current)
    if current.status is PaymentStatus.IN_PROGRESS:
        return Pending(current)
    return NotPaid(current, code, message)


async def _outcome_of_other_confirm(
    payment: Payment, deps: Deps, deadline: float
) -> CheckoutOutcome | None:
    """Another return of this payment is confirming it: wait (until `deadline`, on the event
    loop's clock) for its result. None if it left the payment READY in time: its paymentKey was
    not this order's, which says nothing of this return's own key."""
    loop = asyncio.get_running_loop()
    while True:
        current = await _reread(payment, deps)
        if current.status is not PaymentStatus.IN_PROGRESS:
            break
        if loop.time() >= deadline:
            return Pending(current)
        await asyncio.sleep(POLL_EVERY)
    if is_paid(current):  # by this return's key or another tab's: the order is paid
        return Paid(current)
    if current.status is PaymentStatus.ABORTED and current.failure is not None:
        return NotPaid(current, "PG_REJECTED", current.failure.message, current.failure.code)
    if current.status is PaymentStatus.READY:
        # Past the deadline, "checking" (the page asks again) rather than another's failure.
        return None if loop.time() < deadline else Pending(current)
    return NotPaid(current, "NOT_CONFIRMABLE_STATUS")


async def _reread(payment: Payment, deps: Deps) -> Payment:
    async with deps.uow() as uow:
        current = await uow.payments.get(payment.tenant_id, payment.id)
    return current or payment
