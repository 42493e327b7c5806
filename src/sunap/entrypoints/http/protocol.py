"""The HTTP/1.1 protocol `sunap serve` runs: uvicorn's httptools protocol, with what the app
cannot do because it never sees the request.

- A request head (request line and headers) is bounded: past MAX_HEAD_BYTES the connection is
  answered `431 HEADERS_TOO_LARGE` and closed. httptools buffers a header's value until it ends,
  so without this one header of any length, or any number of headers, is held in memory.
- A request that is not HTTP gets the API's `{code, message}` body and an `X-Request-Id`, as any
  other answer does, instead of uvicorn's plain-text 400.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .request_observation import REQUEST_ID_HEADER, new_request_id

# Far above what a browser or Toss sends (a few KiB), far below what would hurt: the head of one
# request is held in memory until it ends.
MAX_HEAD_BYTES = 32 * 1024
# How long a refused connection is read and dropped before it is closed.
LINGER_SECONDS = 2.0

log = logging.getLogger("sunap.http")


class _HeadTooLarge(Exception):
    pass


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """Two counts bound a head. What httptools hands over (the URL, each whole header) is
    counted as it comes, however the bytes were read. A header httptools still holds is seen
    only as bytes read while the head is open: chunks that all belong to it are counted too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True  # the parser is inside a request head (or before the first one)
        self._head_began = False  # a request head began during the current feed
        self._head_read = 0  # bytes read that belong to the current head, as far as known
        self._head_parsed = 0  # bytes of the current head httptools has handed over
        self._too_large = False
        self._refused = False

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_began = True
        self._head_parsed = 0

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)  # ": " and CRLF
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_read = 0
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # read and dropped until the connection closes: see _refuse
        was_in_head, self._head_began = self._in_head, False
        super().data_received(data)  # a head found too large while parsing is refused in it
        if not self._in_head or self.transport.is_closing():
            return
        if self._head_began or not was_in_head:
            # The head began inside this chunk, at an offset httptools does not tell: count
            # from the next chunk. Memory stays bounded by the limit plus one read.
            self._head_read = 0
            return
        self._head_read += len(data)
        if self._head_read > MAX_HEAD_BYTES:
            self._refuse_too_large()

    def send_400_response(self, msg: str) -> None:
        if self._too_large:
            self._refuse_too_large()
            return
        self._refuse(400, b"Bad Request", "INVALID_REQUEST", "The request is not valid HTTP/1.1.")

    def _count(self, size: int) -> None:
        self._head_parsed += size
        if self._head_parsed > MAX_HEAD_BYTES:
            self._too_large = True
            raise _HeadTooLarge  # stops the parser; uvicorn then calls send_400_response

    def _refuse_too_large(self) -> None:
        log.warning("refused a request whose head exceeds %d bytes", MAX_HEAD_BYTES)
        self._refuse(
            431,
            b"Request Header Fields Too Large",
            "HEADERS_TOO_LARGE",
            f"The request line and headers exceed {MAX_HEAD_BYTES // 1024} KiB.",
        )

    def _refuse(self, status: int, reason: bytes, code: str, message: str) -> None:
        body = orjson.dumps({"code": code, "message": message})
        head = [b"HTTP/1.1 %d %s\r\n" % (status, reason)]
        for name, value in self.server_state.default_headers:
            head.append(name + b": " + value + b"\r\n")
        head.append(REQUEST_ID_HEADER + b": " + new_request_id().encode() + b"\r\n")
        head.append(b"content-type: application/json\r\n")
        head.append(b"content-length: %d\r\n" % len(body))
        head.append(b"connection: close\r\n\r\n")
        transport = self.transport
        transport.write(b"".join(head) + body)
        self._refused = True
        # Closing at once, with the client's bytes still arriving, would make the kernel reset
        # the connection, and a reset can destroy the answer before the client reads it. So,
        # as web servers do, our side ends, what still comes is read and dropped, and the
        # connection closes a moment later.
        if transport.can_write_eof():
            transport.write_eof()
        asyncio.get_running_loop().call_later(LINGER_SECONDS, transport.close)
