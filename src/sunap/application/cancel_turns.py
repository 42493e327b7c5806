"""Whose turn it is to send a cancel of a payment to the PG.

The PG takes one cancel of a payment per second and refuses the others (docs/toss.md "Pacing").
So a payment has one turn, held in the database (`next_cancel_at`, shared by every process): a
cancel takes it in the transaction that reserves it, holds it while its call is in flight, and
frees it a spacing after the answer, in the transaction that records it — later than the PG
received the call, whatever the delays on the way. No transaction is open while a cancel waits
for the turn or while the PG answers.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

from .deps import Deps
from .ports.unit_of_work import UnitOfWork

log = logging.getLogger("sunap.cancel")

# After an answer, the next cancel of the payment waits this long: the PG's one second, plus a
# margin for the processes' clocks.
CANCEL_SPACING = timedelta(seconds=1.1)
# How long a turn is held for a cancel in flight; if its process dies, the next one waits this long.
# Short on purpose: the turn only spares the PG a second cancel within its second. A call still in
# flight after this reached the PG long ago, and a cancel the PG still finds too soon is answered
# FORBIDDEN_CONSECUTIVE_REQUEST, which the client retries with its key: money never depends on it.
CANCEL_TURN_HOLD = timedelta(seconds=10)
# A cancel that waited this long goes without the turn: the client still retries
# FORBIDDEN_CONSECUTIVE_REQUEST with its key, and an answer that never comes is unknown.
CANCEL_QUEUE_LIMIT = timedelta(seconds=120)

Turn = datetime | None  # the end of the hold we took; None: we went without one


async def try_turn(tenant_id: str, payment_id: str, deps: Deps) -> tuple[bool, Turn]:
    """Take the turn if it is free now: (taken, hold)."""
    async with deps.uow() as uow:
        held_until, _ = await take_turn_in(uow, tenant_id, payment_id, deps.clock.now())
        await uow.commit()
    return held_until is not None, held_until


async def take_turn_in(
    uow: UnitOfWork, tenant_id: str, payment_id: str, now: datetime
) -> tuple[Turn, datetime | None]:
    """Take the turn in the caller's transaction if it is free: (the hold taken, None), or
    (None, when the holder's hold ends)."""
    held_until = now + CANCEL_TURN_HOLD
    free_at = await uow.payments.claim_cancel_turn(tenant_id, payment_id, now, held_until)
    return (held_until, None) if free_at is None else (None, free_at)


class TurnWait:
    """A cancel's wait for its payment's turn: how long to pause each time the turn is held,
    and when to stop waiting (after CANCEL_QUEUE_LIMIT)."""

    def __init__(self, payment_id: str) -> None:
        self._payment_id = payment_id
        self._waited = 0.0  # counted as well as the clock, in case the clock stands still

    @property
    def given_up(self) -> bool:
        return self._waited > CANCEL_QUEUE_LIMIT.total_seconds()

    def pause(self, free_at: datetime, now: datetime) -> float:
        """Seconds to wait before asking again. A little jitter, so that the cancels waiting for
        one turn do not all ask at once; at most a second, so that a turn freed early is seen
        soon."""
        pause = min(max((free_at - now).total_seconds(), 0.05) + random.uniform(0.0, 0.05), 1.0)
        self._waited += pause
        if self.given_up:
            log.warning(
                "cancel of payment %s goes without its turn after %.0f s",
                self._payment_id,
                self._waited,
            )
        return pause


async def end_turn(
    tenant_id: str, payment_id: str, held_until: Turn, deps: Deps, *, sent: bool
) -> None:
    """Free the turn: a spacing from now if a call went to the PG, at once if none did."""
    if held_until is None:
        return
    async with deps.uow() as uow:
        await end_turn_in(uow, tenant_id, payment_id, held_until, deps, sent=sent)
        await uow.commit()


async def end_turn_in(
    uow: UnitOfWork, tenant_id: str, payment_id: str, held_until: Turn, deps: Deps, *, sent: bool
) -> None:
    """The same in the caller's transaction. Ending a turn twice is harmless: the second finds
    the hold it names already gone and changes nothing."""
    if held_until is None:
        return
    now = deps.clock.now()
    await uow.payments.end_cancel_turn(
        tenant_id, payment_id, held_until, now + CANCEL_SPACING if sent else now
    )
