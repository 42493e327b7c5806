"""Can the relay publish? For /readyz's broker check: the publisher's own connection, made with its
credentials (dialed if it has none), and, when that fails, a TCP connection to the first server
the URL names, to tell a broker that is away from one that answers but will not take events.

A bare TCP connection said "ok" to a wrong password, while every publish failed."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

OK, UNREACHABLE, FAILING = "ok", "unreachable", "failing"
# Seconds the publisher may take to show it is connected, then a TCP connection as long: 2 s at
# most, or the half each of a shorter `within` (/readyz's readiness timeout).
PROBE_SECONDS = 1.0


@runtime_checkable
class PublishProbe(Protocol):
    async def can_publish(self) -> bool:
        """Connected, authenticated and set up to publish (dialing now if need be); never
        raises."""
        ...


async def broker_state(url: str, publisher: PublishProbe, within: float | None = None) -> str:
    """`ok`: the publisher can publish; `failing`: the broker answers on its port but the
    publisher cannot connect, log in or set up through it (a wrong password, a broker that stops
    answering); `unreachable`: nothing answers on its port. Answered within `within` seconds
    (by default PROBE_SECONDS + CONNECT_SECONDS)."""
    probe, connect = PROBE_SECONDS, CONNECT_SECONDS
    if within is not None:
        probe, connect = min(probe, within / 2), min(connect, within / 2)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(probe):
            if await publisher.can_publish():
                return OK
    return FAILING if await broker_reachable(url, connect) else UNREACHABLE


DEFAULT_PORTS = {
    "kafka": 9092,
    "amqp": 5672,
    "amqps": 5671,
    "nats": 4222,
    "tls": 4222,
    "redis": 6379,
    "rediss": 6379,
}


def broker_address(url: str) -> tuple[str, int]:
    """`kafka://a:9092,b:9092` → `("a", 9092)`; the scheme's usual port when none is given."""
    parts = urlsplit(url)
    first = parts.netloc.rpartition("@")[2].split(",")[0].strip()
    host, _, port = first.rpartition(":") if ":" in first.strip("[]") else (first, "", "")
    default = DEFAULT_PORTS.get(parts.scheme.lower(), 0)
    return host.strip("[]") or "localhost", int(port) if port.isdigit() else default


CONNECT_SECONDS = 1.0


async def broker_reachable(url: str, within: float = CONNECT_SECONDS) -> bool:
    host, port = broker_address(url)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), within)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True
