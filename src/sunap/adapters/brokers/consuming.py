"""Keep a subscriber consuming across broker outages until it is cancelled or closed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator

log = logging.getLogger("sunap.brokers")


async def keep_consuming(
    consume: Callable[[], Awaitable[None]],
    *,
    broker: str,
    is_closed: Callable[[], bool],
    reconnect_delay: float,
) -> None:
    """Run `consume` again whenever it ends or fails (lost connection, broker restart). Handler
    errors never get here: subscribers settle them per message. Cancellation stops it at once."""
    while not is_closed():
        try:
            await consume()
        except Exception as exc:
            if is_closed():
                return
            # The exception text only, never the URL: it may carry a password.
            log.warning(
                "%s subscriber lost its connection (%s); reconnecting in %.1fs",
                broker,
                type(exc).__name__,
                reconnect_delay,
            )
        if not is_closed():
            await asyncio.sleep(reconnect_delay)


class InFlight:
    """Counts messages being handled, so `close()` can let them finish and settle (ack or
    requeue) instead of cutting the connection under a handler that already succeeded."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @contextlib.contextmanager
    def settling(self) -> Iterator[None]:
        self._count += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._count -= 1
            if not self._count:
                self._idle.set()

    async def drained(self, wait: float) -> None:
        """Return once nothing is in flight, or after `wait` seconds."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), wait)
