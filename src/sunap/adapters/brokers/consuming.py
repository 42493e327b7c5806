"""Keep a subscriber consuming across broker outages until it is cancelled or closed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

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
