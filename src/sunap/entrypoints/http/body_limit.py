"""Request bodies have a size limit, enforced while they are read: a bigger body is
`413 PAYLOAD_TOO_LARGE` and the rest of it is never buffered.

A declared `Content-Length` over the limit is refused before the app runs or reads a byte. A body
of undeclared length (chunked) is counted as it arrives, and the read that crosses the limit
raises instead of returning; the route answers 413 from there. The server holds a declared length
to its word, so a body within its declared length needs no counting.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import error_body
from .json_response import OrjsonResponse


class PayloadTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, detail=f"The body is larger than the {limit} bytes taken here.")


class BodyLimit:
    def __init__(self, app: ASGIApp, *, limit: int, by_prefix: Mapping[str, int]) -> None:
        """`limit` bytes for every path but those starting with a key of `by_prefix`."""
        self.app = app
        self.limit = limit
        self.by_prefix = tuple(by_prefix.items())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is None:
            await self.app(scope, _counted(receive, limit), send)
        elif declared > limit:
            refused = PayloadTooLarge(limit)
            answer = OrjsonResponse(error_body("PAYLOAD_TOO_LARGE", refused.detail), 413)
            await answer(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.by_prefix:
            if path.startswith(prefix):
                return limit
        return self.limit


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:  # servers refuse one already; count such a body as it comes
                return None
    return None


def _counted(receive: Receive, limit: int) -> Receive:
    received = 0

    async def receive_within_limit() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise PayloadTooLarge(limit)
        return message

    return receive_within_limit
