"""The sandbox's state and its background loop, one per app, attached as `app.state.sandbox`.

The loop (expiries, webhook attempts) starts lazily on the first request, so the app works when
mounted in a host app that never runs the sandbox's lifespan. A host that mounts it should
`await app.state.sandbox.stop()` on shutdown; standalone, the app's lifespan does it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sunap_toss_sandbox import choices
from sunap_toss_sandbox.accounts import Accounts
from sunap_toss_sandbox.clock import SandboxClock
from sunap_toss_sandbox.faults import FaultBook
from sunap_toss_sandbox.idempotency import IdempotencyStore
from sunap_toss_sandbox.pacing import ConsecutiveCancels, RateLimit
from sunap_toss_sandbox.webhooks import WebhookSender

log = logging.getLogger(__name__)

TICK_SECONDS = 0.05


class SandboxRuntime:
    def __init__(
        self,
        *,
        webhook_url: str | None = None,
        clock: SandboxClock | None = None,
        webhook_time_scale: float = 1.0,
        consecutive_cancel_window_seconds: float = choices.CONSECUTIVE_CANCEL_WINDOW_SECONDS,
        rate_limit_per_minute: int | None = None,
        on_faults_cleared: Callable[[], None] | None = None,
    ) -> None:
        self.clock = clock or SandboxClock()
        self._on_faults_cleared = on_faults_cleared
        self.consecutive_cancels = ConsecutiveCancels(self.clock, consecutive_cancel_window_seconds)
        self.rate_limit = RateLimit(self.clock, rate_limit_per_minute)
        self.webhooks = WebhookSender(webhook_url, self.clock, webhook_time_scale)
        self.accounts = Accounts(self.clock, self.webhooks)
        self.idempotency = IdempotencyStore(self.clock)
        self.faults = FaultBook()
        self.calls: list[dict[str, Any]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._attempts: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self.ensure_started()

    def ensure_started(self) -> None:
        loop = asyncio.get_running_loop()
        if self._ticker is not None and not self._ticker.done() and self._loop is loop:
            return
        self._loop = loop
        self._attempts = set()
        self._ticker = loop.create_task(self._tick_forever())

    async def stop(self) -> None:
        tasks = [task for task in (self._ticker, *self._attempts) if task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._ticker = None
        self._attempts = set()

    def pump(self) -> None:
        """Fires what is due now: expiries, then webhook attempts (each in its own task)."""
        self.accounts.tick()
        if self._loop is None:
            return
        for delivery in self.webhooks.due():
            task = self._loop.create_task(self.webhooks.attempt(delivery))
            self._attempts.add(task)
            task.add_done_callback(self._attempts.discard)

    def advance_clock(self, seconds: float) -> datetime:
        now = self.clock.advance(seconds)
        self.pump()
        return now

    def clear_faults(self) -> None:
        """No more faults; the host is told (its client's breaker may have opened on them)."""
        self.faults.clear()
        if self._on_faults_cleared is not None:
            self._on_faults_cleared()

    def reset(self) -> None:
        self.accounts.reset()
        self.webhooks.reset()
        self.idempotency.reset()
        self.clear_faults()
        self.consecutive_cancels.reset()
        self.rate_limit.reset()
        self.calls = []  # a new list: calls answered after the reset log into the old one
        self.clock.reset()

    async def _tick_forever(self) -> None:
        while True:
            try:
                self.pump()
            except Exception:
                log.exception("sandbox tick failed")
            await asyncio.sleep(TICK_SECONDS)
