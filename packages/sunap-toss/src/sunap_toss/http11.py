"""The connections the async client's calls go out on: HTTP/1.1 over asyncio, pooled, as an
httpx transport.

httpx's own transport hands each request to httpcore, whose pool and streams run on anyio: per
call a cancel scope for every read and write, a lock, an event and a cancellation shield, each
first asking which async library is running. On asyncio that machinery cost more CPU than the
rest of a Toss call put together. Here each connection is an asyncio Protocol driven by h11 (the
HTTP/1.1 state machine httpcore itself uses); a timeout is one timer on the loop.

What a caller relies on stays httpx's: its exceptions, for the same failures, so a call whose
answer never came still reads as "unknown" —
- nothing was sent: `ConnectError`, `ConnectTimeout` (the TLS handshake included), `PoolTimeout`;
- the request may have left: `WriteTimeout`, `WriteError`, `ReadTimeout`, `ReadError`,
  `RemoteProtocolError` (the server hung up without an answer, or sent one we cannot read).
A connection is reused only when the server kept it open, sent nothing while it was idle, and it
has not outlived its keep-alive: asyncio tells the Protocol the moment the server hangs up, so
there is nothing to poll. At most `max_connections` are open, at most `max_keepalive_connections`
idle; a call that finds the pool full waits for a free connection up to its pool timeout.
"""

from __future__ import annotations

import asyncio
import ssl
import urllib.request
from collections import deque
from collections.abc import AsyncIterator
from typing import Any, cast

import h11
import httpx

Origin = tuple[str, str, int]  # scheme, host, port
DEFAULT_PORTS = {"http": 80, "https": 443}


class _Body(httpx.AsyncByteStream):
    """An answer's body, read whole before the connection went back to the pool; httpx decodes
    it (gzip and the like) as the caller reads it."""

    def __init__(self, content: bytes) -> None:
        self._content = content

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self._content


class _TimedOut(Exception):
    pass


def _time_out(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(_TimedOut())


class _Connection(asyncio.Protocol):
    """One connection to one origin: a request at a time, its answer read whole."""

    def __init__(self, origin: Origin) -> None:
        self.origin = origin
        self.idle_since = 0.0
        self._h11 = h11.Connection(h11.CLIENT)
        self._transport: asyncio.Transport | None = None
        self._busy = False
        self._broken = False  # closed, hung up on, or sent something while idle
        self._lost: Exception | None = None
        self._waiter: asyncio.Future[None] | None = None  # for data, or for the write buffer
        self._paused = False

    # asyncio's side
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not subclasses of asyncio's, but are one in all we use.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if not self._busy:
            self._broken = True  # nothing was asked: a stray answer would be the next call's
        self._h11.receive_data(data)
        self._wake()

    def eof_received(self) -> bool:
        self._broken = True
        self._h11.receive_data(b"")
        self._wake()
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self._broken = True
        self._lost = exc
        if exc is None:  # a clean end: it may end an answer framed by the hang-up
            self._h11.receive_data(b"")
        self._paused = False
        self._wake()

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # the pool's side
    def reusable(self, now: float, keepalive_expiry: float | None) -> bool:
        return not self._broken and (
            keepalive_expiry is None or now - self.idle_since < keepalive_expiry
        )

    def close(self) -> None:
        self._broken = True
        if self._transport is not None:
            self._transport.close()

    async def exchange(
        self, request: httpx.Request, body: bytes, timeouts: dict[str, Any]
    ) -> tuple[h11.Response, bytes]:
        """Send `request` and read its answer whole. On any exception the connection is spent."""
        self._busy = True
        connection = self._h11
        try:
            events: list[h11.Event] = [
                h11.Request(
                    method=request.method, target=request.url.raw_path, headers=request.headers.raw
                ),
                *([h11.Data(data=body)] if body else []),
                h11.EndOfMessage(),
            ]
            data = b"".join(connection.send(event) or b"" for event in events)
        except h11.LocalProtocolError as exc:
            raise httpx.LocalProtocolError(str(exc), request=request) from exc
        await self._write(data, timeouts.get("write"), request)
        try:
            answer = await self._read_head(timeouts.get("read"), request)
            content = await self._read_body(timeouts.get("read"), request)
        except h11.RemoteProtocolError as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from exc
        self._busy = False
        if connection.our_state is h11.DONE and connection.their_state is h11.DONE:
            connection.start_next_cycle()
            if connection.trailing_data[0]:
                self._broken = True  # bytes beyond the answer: nothing to trust them with
        else:
            self._broken = True  # `Connection: close`, or an answer framed by the hang-up
        return answer, content

    async def _write(self, data: bytes, timeout: float | None, request: httpx.Request) -> None:
        transport = self._transport
        if self._broken or transport is None or transport.is_closing():
            raise httpx.WriteError("The connection was closed before the request went out.")
        transport.write(data)
        while self._paused:  # the kernel's buffer is full: wait for it to drain
            if not await self._wait(timeout):
                raise httpx.WriteTimeout("Timed out writing the request.", request=request)
        if self._lost is not None:
            raise httpx.WriteError(str(self._lost), request=request) from self._lost

    async def _read_head(self, timeout: float | None, request: httpx.Request) -> h11.Response:
        while True:
            event = await self._next_event(timeout, request)
            if isinstance(event, h11.Response):
                return event
            if isinstance(event, h11.ConnectionClosed):
                raise httpx.RemoteProtocolError(
                    "Server disconnected without sending a response.", request=request
                )
            # h11.InformationalResponse (a 1xx): the answer follows

    async def _read_body(self, timeout: float | None, request: httpx.Request) -> bytes:
        chunks: list[bytes] = []
        while True:
            event = await self._next_event(timeout, request)
            if isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                return b"".join(chunks)
            else:  # ConnectionClosed mid-answer: h11 raises for a framed body, so not expected
                raise httpx.RemoteProtocolError("The answer ended early.", request=request)

    async def _next_event(self, timeout: float | None, request: httpx.Request) -> Any:
        while True:
            event = self._h11.next_event()
            if event is not h11.NEED_DATA:
                return event
            if self._lost is not None:
                raise httpx.ReadError(str(self._lost), request=request) from self._lost
            if not await self._wait(timeout):
                raise httpx.ReadTimeout("Timed out waiting for the answer.", request=request)

    async def _wait(self, timeout: float | None) -> bool:
        """Until data arrives, the write buffer drains or the connection ends: False on timeout."""
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = loop.call_later(timeout, _time_out, waiter) if timeout is not None else None
        try:
            await waiter
        except _TimedOut:
            return False
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()
        return True


class Http11Transport(httpx.AsyncBaseTransport):
    """An httpx transport for HTTP/1.1 over asyncio, with a bounded pool of kept connections.
    TLS as httpx sets it up by default: certificates checked, the system's settings honoured
    (`SSL_CERT_FILE` included)."""

    def __init__(self, limits: httpx.Limits, ssl_context: ssl.SSLContext | None = None) -> None:
        self._max_connections = limits.max_connections
        self._max_idle = limits.max_keepalive_connections
        self._keepalive_expiry = limits.keepalive_expiry
        self._ssl_context = ssl_context
        self._idle: dict[Origin, list[_Connection]] = {}  # by origin, the latest used last
        self._open = 0  # connections open or opening, idle or not
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._closed = False

    @property
    def open_connections(self) -> int:
        return self._open

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(f"Unsupported URL scheme {url.scheme!r}.")
        origin = (url.scheme, url.host, url.port or DEFAULT_PORTS[url.scheme])
        timeouts: dict[str, Any] = request.extensions.get("timeout", {})
        body = await request.aread()
        connection = await self._connection_for(origin, timeouts, request)
        try:
            answer, content = await connection.exchange(request, body, timeouts)
        except BaseException:
            self._discard(connection)
            raise
        self._give_back(connection)
        return httpx.Response(
            status_code=answer.status_code,
            headers=answer.headers.raw_items(),
            stream=_Body(content),
            extensions={
                "http_version": b"HTTP/" + answer.http_version,
                "reason_phrase": answer.reason,
            },
        )

    async def aclose(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                self._discard(connection)
        while self._waiting:
            _time_out(self._waiting.popleft())

    async def _connection_for(
        self, origin: Origin, timeouts: dict[str, Any], request: httpx.Request
    ) -> _Connection:
        loop = asyncio.get_running_loop()
        pool_timeout: float | None = timeouts.get("pool")
        deadline = None if pool_timeout is None else loop.time() + pool_timeout
        while True:
            if self._closed:
                raise RuntimeError("The transport has been closed.")
            connection = self._kept(origin, loop.time())
            if connection is not None:
                return connection
            if self._has_room() or self._close_one_idle():
                return await self._connect(origin, timeouts.get("connect"), request)
            waiter = loop.create_future()
            self._waiting.append(waiter)
            left = None if deadline is None else max(deadline - loop.time(), 0.0)
            timer = loop.call_later(left, _time_out, waiter) if left is not None else None
            try:
                await waiter
            except _TimedOut:
                raise httpx.PoolTimeout(
                    "No connection to Toss came free in time.", request=request
                ) from None
            except BaseException:
                if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                    self._wake_one()  # woken, then cancelled: the turn goes to the next waiter
                raise
            finally:
                if timer is not None:
                    timer.cancel()
                if waiter in self._waiting:
                    self._waiting.remove(waiter)
            if self._closed:
                raise RuntimeError("The transport has been closed.")

    def _has_room(self) -> bool:
        return self._max_connections is None or self._open < self._max_connections

    def _kept(self, origin: Origin, now: float) -> _Connection | None:
        """The most recently used idle connection to `origin` that can still be used; the
        others looked at on the way (hung up on, or too long idle) are closed."""
        kept = self._idle.get(origin)
        while kept:
            connection = kept.pop()
            if connection.reusable(now, self._keepalive_expiry):
                return connection
            self._discard(connection)
        return None

    def _close_one_idle(self) -> bool:
        """Make room in a full pool by closing the longest-idle connection, to any origin."""
        oldest: list[_Connection] | None = None
        for connections in self._idle.values():
            if connections and (oldest is None or connections[0].idle_since < oldest[0].idle_since):
                oldest = connections
        if oldest is None:
            return False
        self._discard(oldest.pop(0))
        return True

    async def _connect(
        self, origin: Origin, timeout: float | None, request: httpx.Request
    ) -> _Connection:
        self._open += 1
        scheme, host, port = origin
        connection = _Connection(origin)
        tls = self._tls() if scheme == "https" else None
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                await loop.create_connection(
                    lambda: connection,
                    host,
                    port,
                    ssl=tls,
                    server_hostname=host if tls is not None else None,
                )
        except BaseException as exc:
            self._open -= 1
            self._wake_one()
            if isinstance(exc, TimeoutError):
                raise httpx.ConnectTimeout(
                    f"Timed out connecting to {host}.", request=request
                ) from exc
            if isinstance(exc, OSError):  # ssl.SSLError and socket.gaierror among them
                raise httpx.ConnectError(str(exc), request=request) from exc
            raise
        return connection

    def _tls(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            context = httpx.create_ssl_context()
            context.set_alpn_protocols(["http/1.1"])
            self._ssl_context = context
        return self._ssl_context

    def _give_back(self, connection: _Connection) -> None:
        now = asyncio.get_running_loop().time()
        idle = sum(len(connections) for connections in self._idle.values())
        if (
            not self._closed
            and connection.reusable(now, None)
            and (self._max_idle is None or idle < self._max_idle)
        ):
            connection.idle_since = now
            self._idle.setdefault(connection.origin, []).append(connection)
            self._wake_one()
        else:
            self._discard(connection)

    def _discard(self, connection: _Connection) -> None:
        connection.close()
        self._open -= 1
        self._wake_one()

    def _wake_one(self) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


def pooled_transport_unless_proxied(limits: httpx.Limits) -> httpx.AsyncBaseTransport | None:
    """The transport a client should be given: this one, or None (httpx's own) when the
    environment names a proxy (HTTPS_PROXY and the like). httpx honours those variables only for
    a client built without a transport, and a shop behind an egress proxy must still reach Toss."""
    return None if urllib.request.getproxies() else Http11Transport(limits)
