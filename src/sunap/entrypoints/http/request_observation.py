"""The outermost HTTP layer: a request id on every answer, and each request counted and timed.

Pure ASGI (no BaseHTTPMiddleware): it wraps `send` to add `X-Request-Id` and to note the status,
and binds the request id to the log context for everything the request does. Outermost, so the
answers of the error boundary (500, 503) and of the body limit (413) carry the id and are counted.
Requests are labelled by route template (`/v1/payments/{payment_id}`), never by raw path: a
path that matched no route is counted as "unmatched", a mounted app by its mount point.
"""

from __future__ import annotations

import re
import secrets
import time

from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sunap.application import log_context
from sunap.entrypoints.metrics import Metrics

REQUEST_ID_HEADER = b"x-request-id"
# A caller's id is kept if it is a plain token (what tracing systems and proxies send); anything
# else (too long, control characters, spaces) is replaced by one of ours rather than echoed.
_ACCEPTABLE_ID = re.compile(rb"[A-Za-z0-9._:/+=@-]{1,128}")
UNMATCHED = "unmatched"


def new_request_id() -> str:
    return "req_" + secrets.token_hex(12)


def request_id_from(given: bytes | None) -> str:
    """The caller's request id when it is a plain token, else a new one of ours."""
    if given is not None and _ACCEPTABLE_ID.fullmatch(given):
        return given.decode("ascii")
    return new_request_id()


class RequestObservation:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self._requests = metrics.http_requests
        self._duration = metrics.http_duration

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(_callers_id(scope))
        header = (REQUEST_ID_HEADER, request_id.encode())
        status = 500  # what the client sees if nothing is sent at all
        root_path = scope.get("root_path", "")
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [h for h in message.get("headers", []) if h[0] != REQUEST_ID_HEADER]
                message = {**message, "headers": [*headers, header]}
            await send(message)

        with log_context.scope(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                route, method = route_of(scope, root_path), scope["method"]
                self._requests.labels(route=route, method=method, status=str(status)).inc()
                self._duration.labels(route=route, method=method).observe(
                    time.perf_counter() - started
                )


def _callers_id(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER:
            return bytes(value)
    return None


def route_of(scope: Scope, root_path: str) -> str:
    """The template of the route that took the request, as the routers noted it in the scope:
    a mounted app's routes under their mount point (`/toss-sandbox/v1/payments/confirm`)."""
    route = scope.get("route")
    mount = scope.get("root_path", "")[len(root_path) :]
    if route is None:
        return mount or UNMATCHED
    if isinstance(route, Mount):
        return mount or route.path
    path = getattr(route, "path", None)
    return mount + path if isinstance(path, str) else mount or UNMATCHED
