"""Look-ups of the PG's truth for webhook deliveries, coalesced per payment.

Webhooks arrive unauthenticated, and each one is applied only after asking the PG. Without a bound,
a forger could make Sunap hammer the PG (and fill the audit trail) by sending one payment's
webhook over and over. So, per PG account and payment key (or orderId), in this process:
- look-ups running at the same time share one call;
- an answer the PG gave after a delivery arrived is that delivery's answer too: the PG sends a
  webhook after the change it reports, so the answer already shows it;
- an answer younger than FRESH_FOR that shows the status and the last transaction a delivery
  claims is reused (the status alone is not enough: a second partial cancel leaves it
  PARTIAL_CANCELED, and an answer from before it would hide it);
- otherwise the PG is asked again, but not within MIN_INTERVAL of the last answer: the delivery
  waits until then (a real change is never missed, only delayed).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from .ports.gateway import GatewayNotFound, GatewayPayment, PaymentGateway

MIN_INTERVAL = 10.0  # seconds between two look-ups of one payment
FRESH_FOR = 60.0  # seconds an answer settles a delivery that claims what it shows
MAX_REMEMBERED = 10_000  # payments whose last answer is kept; the oldest are forgotten first

LookupKey = tuple[str, bool, str]  # (PG account, by orderId?, paymentKey or orderId)


@dataclass(frozen=True)
class Answer:
    truth: GatewayPayment | None  # None: the PG does not know it
    asked: bool  # True: this answer came from a call made for this delivery


class AskLater(Exception):
    """The PG was asked about this payment moments ago; ask again after `after` seconds."""

    def __init__(self, after: float) -> None:
        super().__init__(f"the PG was asked moments ago; again in {after:.0f} s")
        self.after = after


class PgLookups:
    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now
        self._answers: OrderedDict[LookupKey, tuple[datetime, GatewayPayment | None]] = (
            OrderedDict()
        )
        self._running: dict[LookupKey, tuple[datetime, asyncio.Task[GatewayPayment | None]]] = {}

    async def truth(
        self,
        gateway: PaymentGateway,
        pg_account_id: str,
        key: str,
        *,
        by_order: bool,
        claimed_status: str | None,
        claimed_transaction_key: str | None = None,
        received_at: datetime,
    ) -> Answer:
        """The PG's truth about one payment for a delivery received at `received_at`; raises
        AskLater, or the gateway's GatewayError."""
        lookup: LookupKey = (pg_account_id, by_order, key)
        remembered = self._answers.get(lookup)
        if remembered is not None:
            asked_at, truth = remembered
            age = (self._now() - asked_at).total_seconds()
            if asked_at > received_at:
                return Answer(truth, asked=False)
            if age < FRESH_FOR and _shows(truth, claimed_status, claimed_transaction_key):
                return Answer(truth, asked=False)
            if age < MIN_INTERVAL:
                raise AskLater(MIN_INTERVAL - age)
        running = self._running.get(lookup)
        if running is not None:
            started, task = running
            if started > received_at:
                return Answer(await asyncio.shield(task), asked=False)
            raise AskLater(max(MIN_INTERVAL - (self._now() - started).total_seconds(), 1.0))
        # Remembered as of when it was asked: a change made while the answer was on its way
        # is not in it, and a delivery that arrived meanwhile must not take it for its own.
        asked_at = self._now()
        task = asyncio.ensure_future(_ask(gateway, key, by_order=by_order))
        self._running[lookup] = (asked_at, task)
        try:
            truth = await asyncio.shield(task)
        finally:
            self._running.pop(lookup, None)
        self._remember(lookup, asked_at, truth)
        return Answer(truth, asked=True)

    def _remember(
        self, lookup: LookupKey, asked_at: datetime, truth: GatewayPayment | None
    ) -> None:
        self._answers[lookup] = (asked_at, truth)
        self._answers.move_to_end(lookup)
        while len(self._answers) > MAX_REMEMBERED:
            self._answers.popitem(last=False)


def _shows(truth: GatewayPayment | None, status: str | None, transaction_key: str | None) -> bool:
    """Whether the PG's answer already shows what a delivery claims: its status and its last
    transaction. A delivery that names no transaction cannot be told from a newer change."""
    if truth is None or status is None or transaction_key is None:
        return False
    return truth.status.value == status and truth.last_transaction_key == transaction_key


async def _ask(gateway: PaymentGateway, key: str, *, by_order: bool) -> GatewayPayment | None:
    try:
        if by_order:
            return await gateway.lookup_by_order_id(key)
        return await gateway.lookup_by_payment_key(key)
    except GatewayNotFound:
        return None
