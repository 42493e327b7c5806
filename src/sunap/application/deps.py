"""What every use case is handed: passed in by bootstrap, never created at import time."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from .billing_policy import BillingPolicy
from .pg_accounts import PgAccounts
from .ports.system import Clock, IdGenerator
from .ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from .ports.webhook_format import WebhookFormat
from .toss_windows import LOOK_AGAIN_AFTER

# When the reconciler first asks the PG about an answer we did not get, then how long it waits
# after each further attempt; after the last one a person is asked to look.
DEFAULT_RECONCILE_DELAYS: tuple[timedelta, ...] = tuple(
    timedelta(seconds=s) for s in (5, 10, 20, 40, 120, 600, 3600, 6 * 3600, 24 * 3600)
)


@dataclass(frozen=True)
class Deps:
    uow: UnitOfWorkFactory
    accounts: PgAccounts  # the PG accounts, and a gateway for each
    clock: Clock
    ids: IdGenerator
    webhook_format: WebhookFormat  # how the PG's webhooks are shaped, signed and kept
    reconcile_delays: tuple[timedelta, ...] = DEFAULT_RECONCILE_DELAYS
    # How a use case waits its turn (cancel pacing); tests on a FakeClock pass one that moves it.
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    billing: BillingPolicy = field(default_factory=BillingPolicy)
    # When to ask Toss again about an order it may still hold open for the customer (a READY
    # payment past its time to live, one we canceled or expired unpaid): toss_windows.py.
    toss_recheck: timedelta = LOOK_AGAIN_AFTER
    # Units of work for use cases that only read (never commit); None: `uow` serves them too.
    reads: UnitOfWorkFactory | None = None

    def read_uow(self) -> UnitOfWork:
        return (self.reads or self.uow)()
