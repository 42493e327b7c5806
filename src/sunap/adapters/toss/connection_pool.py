"""The connections Toss calls go out on: httpx's own transport, with a pool whose bookkeeping
grows with the number of connections, not with its square.

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

import httpcore
import httpx
from httpcore import AsyncConnectionInterface


class LinearConnectionPool(httpcore.AsyncConnectionPool):
    def _assign_requests_to_connections(self) -> list[AsyncConnectionInterface]:
        # Called by httpcore under its pool lock, whenever a request joins or leaves the pool.
        closing: list[AsyncConnectionInterface] = []
        kept: list[AsyncConnectionInterface] = []
        idle_kept = 0
        for connection in self._connections:
            if connection.is_closed():
                continue
            if connection.has_expired():  # keep-alive over, or the server hung up while idle
                closing.append(connection)
            elif connection.is_idle():
                if idle_kept < self._max_keepalive_connections:
                    idle_kept += 1
                    kept.append(connection)
                else:
                    closing.append(connection)
            else:
                kept.append(connection)
        self._connections = kept

        for pool_request in [r for r in self._requests if r.is_queued()]:
            origin = pool_request.request.url.origin
            reusable = next(
                (c for c in kept if c.can_handle_request(origin) and c.is_available()), None
            )
            if reusable is not None:
                pool_request.assign_to_connection(reusable)
                continue
            if len(kept) >= self._max_connections:
                idle = next((c for c in kept if c.is_idle()), None)
                if idle is None:
                    continue  # the request waits for a connection (or its pool timeout)
                kept.remove(idle)  # an idle connection to another origin makes room
                closing.append(idle)
            connection = self.create_connection(origin)
            kept.append(connection)
            pool_request.assign_to_connection(connection)
        return closing


class TossTransport(httpx.AsyncHTTPTransport):
    """httpx's transport (its error mapping, and its tracing when traces are on) over the pool
    above, with httpx's defaults for TLS (certificate checks on, the system's settings)."""

    def __init__(self, limits: httpx.Limits) -> None:
        super().__init__(limits=limits)
        self._pool = LinearConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
        )
