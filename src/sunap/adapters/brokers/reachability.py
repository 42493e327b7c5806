"""Can the broker be reached? For /readyz: a TCP connection to the first server the URL names.

It says the broker answers on its port, not that a publish would succeed; it costs one connection,
with no credentials sent, and means the same thing for every broker we speak to."""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit

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


async def broker_reachable(url: str) -> bool:
    host, port = broker_address(url)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), CONNECT_SECONDS)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True
