"""The connections the async client's calls go out on: httpx's own transport, with a pool whose
bookkeeping grows with the number of connections, not with its square.

httpcore's pool (1.0) re-examines its connections twice per request, and for each idle one
counts every connection again: with 32 connections open, a confirm spent a sixteenth of its CPU
there, and the more calls in flight (Toss answers in tens of milliseconds, not one) the worse it
gets. This pool keeps httpcore's rules (drop closed and expired connections, keep at most
`max_keepalive_connections` idle, reuse before opening, open before waiting) in one pass.

Only the pool changes: requests, answers, timeouts and the errors they raise are httpx's and
httpcore's own, so a call the pool cannot place still fails as httpx says (a pool timeout), and a
call whose answer never came is still the error the gateway reads as "unknown".
"""

from __future__ import annotations

import socket
import ssl
import time
import urllib.request
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx
from httpcore import AsyncConnectionInterface
from httpcore._utils import is_socket_readable  # private: httpcore is pinned below 1.1

# Seconds between looks at every idle connection for one the server closed or that outlived its
# keep-alive (the connection about to be reused is looked at every time).
SWEEP_SECONDS = 1.0


class LinearConnectionPool(httpcore.AsyncConnectionPool):
    _next_sweep = 0.0  # monotonic time of the next look at every idle connection

    def _assign_requests_to_connections(self) -> list[AsyncConnectionInterface]:
        # Called by httpcore under its pool lock, whenever a request joins or leaves the pool.
        # Whether an idle connection has expired costs a system call (did the server hang up?):
        # asked of the connection about to be reused, every time, and of all idle ones once a
        # second, so that connections the server closed do not linger.
        now = time.monotonic()
        sweep = now >= self._next_sweep
        if sweep:
            self._next_sweep = now + SWEEP_SECONDS
        closing: list[AsyncConnectionInterface] = []
        kept: list[AsyncConnectionInterface] = []
        idle_kept = 0
        for connection in self._connections:
            if connection.is_closed():
                continue
            if not connection.is_idle():
                kept.append(connection)
            elif (sweep and connection.has_expired()) or (
                idle_kept >= self._max_keepalive_connections
            ):
                closing.append(connection)
            else:
                idle_kept += 1
                kept.append(connection)
        self._connections = kept

        for pool_request in [r for r in self._requests if r.is_queued()]:
            origin = pool_request.request.url.origin
            reusable = self._reusable(origin, closing)
            if reusable is not None:
                pool_request.assign_to_connection(reusable)
                continue
            if len(self._connections) >= self._max_connections:
                idle = next((c for c in self._connections if c.is_idle()), None)
                if idle is None:
                    continue  # the request waits for a connection (or its pool timeout)
                self._connections.remove(idle)  # an idle connection to another origin makes room
                closing.append(idle)
            connection = self.create_connection(origin)
            self._connections.append(connection)
            pool_request.assign_to_connection(connection)
        return closing

    def _reusable(
        self, origin: httpcore.Origin, closing: list[AsyncConnectionInterface]
    ) -> AsyncConnectionInterface | None:
        """The first connection that can take a request to `origin` now, never one the server
        has closed: a call sent on it would fail with no way to tell whether Toss got it."""
        for connection in list(self._connections):
            if not (connection.can_handle_request(origin) and connection.is_available()):
                continue
            if connection.is_idle() and connection.has_expired():
                self._connections.remove(connection)
                closing.append(connection)
                continue
            return connection
        return None


class _SocketKeepingStream(httpcore.AsyncNetworkStream):
    """anyio's stream, with its socket looked up once. httpcore asks whether an idle connection
    is readable (did the server hang up?) before each reuse, and anyio answers every such question
    by building a table of the socket's attributes, its peer's address (a system call) included."""

    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream
        self._socket: socket.socket | None = stream.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._stream.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._stream.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _SocketKeepingStream(
            await self._stream.start_tls(ssl_context, server_hostname, timeout)
        )

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return is_socket_readable(self._socket)  # httpcore's own look, on the kept socket
        return self._stream.get_extra_info(info)


class _SocketKeepingBackend(httpcore.AsyncNetworkBackend):
    """httpcore's anyio backend, its streams wrapped as above."""

    def __init__(self) -> None:
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
        return _SocketKeepingStream(stream)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._backend.connect_unix_socket(path, timeout, socket_options)
        return _SocketKeepingStream(stream)

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class LinearPoolTransport(httpx.AsyncHTTPTransport):
    """httpx's transport (its error mapping, and its tracing when traces are on) over the pool
    above, with httpx's defaults for TLS (certificate checks on, the system's settings)."""

    def __init__(self, limits: httpx.Limits) -> None:
        super().__init__(limits=limits)
        self._pool = LinearConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_SocketKeepingBackend(),
        )


def linear_pool_unless_proxied(limits: httpx.Limits) -> httpx.AsyncBaseTransport | None:
    """The transport a client should be given: this pool, or None (httpx's own) when the
    environment names a proxy (HTTPS_PROXY and the like). httpx honours those variables only for
    a client built without a transport, and a shop behind an egress proxy must still reach Toss."""
    return None if urllib.request.getproxies() else LinearPoolTransport(limits)
