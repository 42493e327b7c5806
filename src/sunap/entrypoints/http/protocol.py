"""The HTTP/1.1 protocol `sunap serve` runs: uvicorn's httptools protocol, with what the app
cannot do because it never sees the request.

- A request head (request line and headers) is bounded: past MAX_HEAD_BYTES the request is
  answered `431 HEADERS_TOO_LARGE` and the connection closed. httptools buffers a header's value
  until it ends, so without this one header of any length, or any number of headers, is held in
  memory. So are a chunked body's framing and trailers (MAX_FRAMING_BYTES): a trailer is a
  header too, buffered the same way, and the app's body limit counts only the body.
- A request that is not HTTP gets the API's `{code, message}` body and an `X-Request-Id`, as any
  other answer does, instead of uvicorn's plain-text 400.
- A refusal never cuts into another answer: one for a pipelined request waits until the answers
  before it are sent; one for a request whose app already answers, or answered before reading
  its body, ends the connection instead.
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
# Chunk sizes, extensions and trailers of one body: a 64 KiB body sent in tiny chunks stays
# well under it.
MAX_FRAMING_BYTES = 256 * 1024
# How long a refused connection is read and dropped before it is closed.
LINGER_SECONDS = 2.0

Refusal = tuple[int, bytes, str, str]  # status, reason phrase, code, message
TOO_LARGE: Refusal = (
    431,
    b"Request Header Fields Too Large",
    "HEADERS_TOO_LARGE",
    f"The request line and headers exceed {MAX_HEAD_BYTES // 1024} KiB, or a chunked body's "
    f"framing and trailers exceed {MAX_FRAMING_BYTES // 1024} KiB.",
)
NOT_HTTP: Refusal = (400, b"Bad Request", "INVALID_REQUEST", "The request is not valid HTTP/1.1.")

log = logging.getLogger("sunap.http")


class _HeadTooLarge(Exception):
    pass


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """Two counts bound a head. What httptools hands over (the URL, each whole header) is
    counted as it comes, however the bytes were read. A header httptools still holds is seen
    only as bytes read while the head is open: chunks that all belong to it are counted too.
    While a body is read, every byte fed that httptools does not hand over as body is framing
    or trailers, and is counted."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True  # the parser is inside a request head (or before the first one)
        self._in_body = False  # between a head's end and its message's end
        self._head_began = False  # a request head began during the current feed
        self._head_read = 0  # bytes read that belong to the current head, as far as known
        self._head_parsed = 0  # bytes of the current head httptools has handed over
        self._body_fed = 0  # body bytes httptools handed over during the current feed
        self._framing = 0  # bytes of the current body that are not body
        self._too_large = False
        self._refused = False  # answered with a refusal: what comes is read and dropped
        self._pending: Refusal | None = None  # to send once the answers before it are

    # -- httptools' callbacks ------------------------------------------------------------------
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
        self._in_body = True
        self._head_read = 0
        self._framing = 0
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        self._body_fed += len(body)
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._in_body = False
        super().on_message_complete()

    # -- asyncio's side ------------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # read and dropped until the connection closes: see _send
        was_in_head, was_in_body = self._in_head, self._in_body
        self._head_began, self._body_fed = False, 0
        super().data_received(data)  # a head found too large while parsing is refused in it
        if self._refused or self.transport.is_closing():
            return
        if self._in_body and was_in_body:
            self._framing += len(data) - self._body_fed
            if self._framing > MAX_FRAMING_BYTES:
                self._refuse(TOO_LARGE)
        elif not self._in_head:
            return
        elif self._head_began or not was_in_head:
            # The head began inside this chunk, at an offset httptools does not tell: count
            # from the next chunk. Memory stays bounded by the limit plus one read.
            self._head_read = 0
        else:
            self._head_read += len(data)
            if self._head_read > MAX_HEAD_BYTES:
                self._refuse(TOO_LARGE)

    def send_400_response(self, msg: str) -> None:
        self._refuse(TOO_LARGE if self._too_large else NOT_HTTP)

    def on_response_complete(self) -> None:
        queued = bool(self.pipeline)
        super().on_response_complete()
        if self._pending is not None and not queued:
            refusal, self._pending = self._pending, None
            self._send(refusal)

    # -- refusing ------------------------------------------------------------------------------
    def _count(self, size: int) -> None:
        self._head_parsed += size
        if self._head_parsed > MAX_HEAD_BYTES:
            self._too_large = True
            raise _HeadTooLarge  # stops the parser; uvicorn then calls send_400_response

    def _refuse(self, refusal: Refusal) -> None:
        if refusal is TOO_LARGE:
            log.warning("refused a request whose head, framing or trailers are too large")
        self._refused = True
        cycle = self.cycle
        if cycle is not None and cycle.response_complete and self._in_body:
            # Answered before its body was read (a 401 needs no body): that answer stands
            # alone, and the connection ends without a second one.
            self._linger()
        elif cycle is None or cycle.response_complete:
            self._send(refusal)
        elif self._in_head:
            # A pipelined request, after one still being answered: its refusal follows that
            # answer (on_response_complete), and nothing more is read meanwhile.
            self._pending = refusal
            self.flow.pause_reading()
        else:
            # This request's own body or trailers: its app is told the client went away, and
            # its own answer, if any, goes nowhere.
            cycle.disconnected = True
            cycle.message_event.set()
            if cycle.response_started:
                self.transport.close()  # part of an answer is out: nothing else can follow
            else:
                self._send(refusal)

    def _send(self, refusal: Refusal) -> None:
        status, reason, code, message = refusal
        body = orjson.dumps({"code": code, "message": message})
        head = [b"HTTP/1.1 %d %s\r\n" % (status, reason)]
        for name, value in self.server_state.default_headers:
            head.append(name + b": " + value + b"\r\n")
        head.append(REQUEST_ID_HEADER + b": " + new_request_id().encode() + b"\r\n")
        head.append(b"content-type: application/json\r\n")
        head.append(b"content-length: %d\r\n" % len(body))
        head.append(b"connection: close\r\n\r\n")
        self.transport.write(b"".join(head) + body)
        self._linger()

    def _linger(self) -> None:
        transport = self.transport
        # Closing at once, with the client's bytes still arriving, would make the kernel reset
        # the connection, and a reset can destroy the answer before the client reads it. So,
        # as web servers do, our side ends, what still comes is read and dropped, and the
        # connection closes a moment later.
        self.flow.resume_reading()
        if transport.can_write_eof():
            transport.write_eof()
        asyncio.get_running_loop().call_later(LINGER_SECONDS, transport.close)
