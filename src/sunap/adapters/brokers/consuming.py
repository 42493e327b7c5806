"""Keep a subscriber consuming across broker outages until it is cancelled or closed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator

log = logging.getLogger("sunap.brokers")


# The longest pause between two reconnects, as the workers' back-off after a database outage.
MAX_RECONNECT_DELAY = 30.0

Connected = Callable[[], None]


class Explained(Exception):
    """A subscriber's error whose text says what to fix and holds no URL: logged in full."""


async def keep_consuming(
    consume: Callable[[Connected], Awaitable[None]],
    *,
    broker: str,
    is_closed: Callable[[], bool],
    reconnect_delay: float,
    max_reconnect_delay: float = MAX_RECONNECT_DELAY,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Run `consume` again whenever it ends or fails (lost connection, broker restart), after a
    pause that doubles from `reconnect_delay` up to `max_reconnect_delay`. `consume` calls the
    function it is given once it is connected and subscribed: that ends an outage (one INFO line)
    and resets the pause. An outage logs one WARNING when it starts and nothing per retry (it
    was a WARNING a second, 3,600 lines an hour). Handler errors never get here: subscribers
    settle them per message. Cancellation stops it at once."""
    outage = _Outage(broker, reconnect_delay, max_reconnect_delay)
    while not is_closed():
        try:
            await consume(outage.connected)
        except Exception as exc:
            if is_closed():
                return
            outage.lost(exc)
        else:
            if is_closed():
                return
            outage.lost(None)
        await sleep(outage.pause())


class _Outage:
    """A subscriber's reconnects: the growing pause, and one log line each way."""

    def __init__(self, broker: str, first_delay: float, max_delay: float) -> None:
        self._broker = broker
        self._first_delay = first_delay
        self._max_delay = max(max_delay, first_delay)
        self._delay = first_delay
        self._failures = 0  # consume ended or failed this many times since it last connected

    def connected(self) -> None:
        if self._failures:
            log.info(
                "%s subscriber connected again after %d attempts", self._broker, self._failures
            )
        self._failures = 0
        self._delay = self._first_delay

    def lost(self, error: Exception | None) -> None:
        if not self._failures:
            # The exception's type only, never its text: it may carry the URL and its password.
            if error is None:
                reason = "its connection ended"
            elif isinstance(error, Explained):
                reason = f"{type(error).__name__}: {error}"
            else:
                reason = type(error).__name__
            log.warning(
                "%s subscriber lost its connection (%s); reconnecting, with pauses up to %gs, "
                "until it is back",
                self._broker,
                reason,
                self._max_delay,
            )
        self._failures += 1

    def pause(self) -> float:
        """The pause before the next attempt; the one after it is twice as long, up to the cap."""
        delay = self._delay
        self._delay = min(self._delay * 2, self._max_delay)
        return delay


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
