"""What reaches `sunap serve` before the app sees a request: a head of any size, or bytes that are
not HTTP. Memory stays bounded, and the answer is the API's own `{code, message}` with an
`X-Request-Id`, as every other answer is."""

from __future__ import annotations

import json
import select
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support.service import RunningService, running_service

MIB = 1 << 20


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    with running_service(Path(tmp_path_factory.mktemp("sunap-heads"))) as svc:
        yield svc


def _exchange(service: RunningService, *chunks: bytes) -> bytes:
    """Send raw chunks on one connection, as a client does: it stops sending once the server
    has answered; then read until the server closes the connection."""
    address = urlsplit(service.base_url)
    with socket.create_connection((address.hostname, address.port), timeout=60) as conn:
        try:
            for chunk in chunks:
                if select.select([conn], [], [], 0)[0]:
                    break  # answered already: the rest would go nowhere
                conn.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused mid-send: the answer was written before the close
        received = b""
        while part := conn.recv(65536):
            received += part
        return received


def _answer(raw: bytes) -> tuple[int, dict[str, str], dict[str, str]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, json.loads(body)


def _peak_resident_kib(service: RunningService) -> int:
    """The most memory the process has held at once since it started (what it holds now says
    nothing: a freed 64 MiB buffer goes back to the system)."""
    assert service.process is not None
    status = Path(f"/proc/{service.process.pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1])


def test_one_endless_header_is_refused_431_without_being_held(service: RunningService) -> None:
    before = _peak_resident_kib(service)
    raw = _exchange(
        service,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ",
        *[b"a" * MIB] * 64,
        b"\r\n\r\n",
    )
    status, headers, body = _answer(raw)
    assert status == 431
    assert body["code"] == "HEADERS_TOO_LARGE"
    assert headers["x-request-id"].startswith("req_")
    # 64 MiB were offered; before the limit, every byte of the value was kept until it ended.
    assert _peak_resident_kib(service) - before < 16 * 1024


@pytest.mark.parametrize("whole", [False, True], ids=["header-by-header", "in-one-write"])
def test_many_small_headers_are_refused_431(service: RunningService, whole: bool) -> None:
    """Read header by header, or all at once (the server then parses the whole head in one
    go): either way the head's size is counted."""
    many = [b"X-H%d: %s\r\n" % (n, b"b" * 90) for n in range(2000)]
    head = [b"GET /healthz HTTP/1.1\r\nHost: x\r\n", *many, b"\r\n"]
    raw = _exchange(service, b"".join(head)) if whole else _exchange(service, *head)
    assert _answer(raw)[0] == 431


def test_a_control_byte_in_a_header_gets_the_apis_400(service: RunningService) -> None:
    raw = _exchange(service, b"GET /healthz HTTP/1.1\r\nHost: x\r\nIdempotency-Key: a\x7fb\r\n\r\n")
    status, headers, body = _answer(raw)
    assert (status, body["code"]) == (400, "INVALID_REQUEST")
    assert body["message"]
    assert headers["content-type"] == "application/json"
    assert headers["x-request-id"].startswith("req_")


def test_heads_and_bodies_within_the_limits_still_pass(service: RunningService) -> None:
    """A body is not a head: two pipelined 60 KB POSTs on one connection, each sent whole, get
    the app's own answers (401: no key), not a 431."""
    body = b'{"orderName": "' + b"a" * 60_000 + b'"}'
    request = (
        b"POST /v1/payments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n%s\r\n" % (len(body), b"X-Pad: " + b"p" * 20_000 + b"\r\n")
    ) + body
    closing = request.replace(b"Host: x\r\n", b"Host: x\r\nConnection: close\r\n", 1)
    raw = _exchange(service, request + closing)
    assert raw.count(b"HTTP/1.1 401 Unauthorized") == 2


def test_an_endless_trailer_of_a_chunked_body_is_refused_431_without_being_held(
    service: RunningService,
) -> None:
    """A trailer is a header that comes after a chunked body: buffered until it ends, like any
    header, and not counted by the app's body limit."""
    before = _peak_resident_kib(service)
    raw = _exchange(  # a webhook's body is read with no key to check first
        service,
        b"POST /v1/webhooks/toss HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nX-Trailer: ",
        *[b"a" * MIB] * 64,
        b"\r\n\r\n",
    )
    status, _, body = _answer(raw)
    assert (status, body["code"]) == (431, "HEADERS_TOO_LARGE")
    assert _peak_resident_kib(service) - before < 16 * 1024


def test_an_answer_given_before_the_body_is_read_stands_alone_when_the_trailer_never_ends(
    service: RunningService,
) -> None:
    """With no key, the API answers 401 before reading the body; the endless trailer that
    follows ends the connection without a second answer to the same request."""
    before = _peak_resident_kib(service)
    raw = _exchange(
        service,
        b"POST /v1/payments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nX-Trailer: ",
        *[b"a" * MIB] * 64,
        b"\r\n\r\n",
    )
    status, _, body = _answer(raw)
    assert (status, body["code"]) == (401, "UNAUTHORIZED")
    assert raw.count(b"HTTP/1.1 ") == 1
    assert _peak_resident_kib(service) - before < 16 * 1024


def test_a_refused_pipelined_request_is_answered_after_the_one_before_it(
    service: RunningService,
) -> None:
    first = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    second = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 40_000 + b"\r\n\r\n"
    raw = _exchange(service, first + second)
    answers = raw.split(b"HTTP/1.1 ")[1:]
    assert [a[:3] for a in answers] == [b"200", b"431"], raw[:300]
    assert b'{"status":"ok"}' in answers[0]
