"""Committed payment changes, fanned out to watchers by payment id (gRPC's WatchPayment).

Why this shape: a watcher must hear of a change once it is committed, and a thousand watchers
must cost about what one does. So no watcher reads the database on a timer. Instead:

- This process's units of work report every payment they commit (a post-commit hook calls
  `committed`): a watcher wakes within the same event-loop turn, with no query at all.
- Other processes (`sunap worker`, `sunap reconcile`, another `sunap serve`) commit into the
  same database; one shared, slow look (`catch_up`, every worker poll interval) reads the
  version of every *watched* payment in one query, and fans out those that moved. No watchers,
  no query. Every save bumps a payment's version, so this sees every change, including those
  that write no outbox event (READY → IN_PROGRESS), and it cannot miss a commit the way tailing
  an auto-increment column can (sequence numbers become visible out of order).

PostgreSQL's LISTEN/NOTIFY could replace the look on that backend; the look works on all three.
A watcher re-reads the payment itself when woken, so it always sends what the database holds,
tenant-scoped, and a wake-up that carried no news costs one read and sends nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol

from sunap.domain.payment import TRANSITIONS, Payment

from .deps import Deps
from .queries import get_payment


class PaymentVersions(Protocol):
    async def current(self, payment_ids: Sequence[str]) -> dict[str, int]:
        """The committed version of each of these payments that exists."""
        ...


class _Topic:
    """One watched payment: the newest version known, and an event its watchers wait on."""

    def __init__(self) -> None:
        self.version = -1
        self.watchers = 0
        self._moved = asyncio.Event()

    def advance(self, version: int) -> None:
        if version > self.version:
            self.version = version
            self._moved.set()
            self._moved = asyncio.Event()  # later waiters wait for the next change

    async def wait_beyond(self, version: int) -> None:
        while self.version <= version:
            await self._moved.wait()


class Subscription:
    def __init__(self, topic: _Topic) -> None:
        self._topic = topic

    async def changed_after(self, version: int) -> None:
        """Return once a version newer than `version` has been committed (at once if it has)."""
        self._topic.advance(version)  # what the watcher read is known, whoever committed it
        await self._topic.wait_beyond(version)


class PaymentChanges:
    """Per process. Not thread-safe: everything runs on the service's one event loop."""

    def __init__(self) -> None:
        self._topics: dict[str, _Topic] = {}

    def committed(self, payments: Iterable[Payment]) -> None:
        """The unit of work's post-commit hook."""
        for payment in payments:
            self.changed(payment.id, payment.version)

    def changed(self, payment_id: str, version: int) -> None:
        topic = self._topics.get(payment_id)
        if topic is not None:  # nobody watches the others
            topic.advance(version)

    def watched(self) -> dict[str, int]:
        """Each watched payment and the newest version known of it."""
        return {payment_id: topic.version for payment_id, topic in self._topics.items()}

    @contextmanager
    def subscribe(self, payment_id: str) -> Iterator[Subscription]:
        topic = self._topics.setdefault(payment_id, _Topic())
        topic.watchers += 1
        try:
            yield Subscription(topic)
        finally:
            topic.watchers -= 1
            if topic.watchers == 0:
                del self._topics[payment_id]


async def catch_up(changes: PaymentChanges, versions: PaymentVersions) -> int:
    """One look for what other processes committed to watched payments; how many moved."""
    watched = changes.watched()
    if not watched:
        return 0
    moved = 0
    for payment_id, version in (await versions.current(list(watched))).items():
        if version > watched[payment_id]:
            changes.changed(payment_id, version)
            moved += 1
    return moved


def is_final(payment: Payment) -> bool:
    """No status change can follow (CANCELED, ABORTED, EXPIRED) but one: Toss approving a
    payment we closed unpaid (Payment.adopt_late_approval), rare and flagged for review. A watch
    does not stay open for it: the merchant hears of it by `payment.completed` (docs/grpc.md)."""
    return not TRANSITIONS[payment.status]


async def watch_payment(
    tenant_id: str, payment_id: str, deps: Deps, changes: PaymentChanges
) -> AsyncIterator[Payment]:
    """The payment now, then again after each committed change, until it is final. A payment
    of another tenant is PaymentNotFound, as if it did not exist."""
    with changes.subscribe(payment_id) as subscription:
        sent = -1
        while True:
            payment = await get_payment(tenant_id, payment_id, deps)
            if payment.version > sent:
                sent = payment.version
                yield payment
            if is_final(payment):
                return
            await subscription.changed_after(sent)
