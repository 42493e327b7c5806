"""The transport the async client's calls go out on, over a real loopback server: every call
placed, connections reused and bounded, a full pool waits and then fails as httpx says, a
connection the server closed (or that said something unasked) is never used again, and each way a
call can fail raises the httpx error that tells "nothing was sent" from "it may have arrived"."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import gzip
import socket
import ssl
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpcore
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sunap_toss import AsyncTossClient, RetryPolicy, TossTimeouts, TossUnknown
from sunap_toss.http11 import Http11Transport


class LoopbackServer:
    """A bare HTTP/1.1 server. Answers `?n=` with n (a POST: the length of its body), after
    `?wait=` seconds, on a connection it closes after the answer when asked (`?close=1`) or after
    `idle_timeout` seconds without a request, silently, as a server whose keep-alive timeout runs
    out does. Misbehaves on request: `?hangup=1` closes without answering, `?reset=1` resets the
    connection halfway through an answer framed by its end, `?stall=1` never
    reads a body nor answers, `?stray=1` sends bytes nobody asked for a moment after its answer (`?junk=1`: in the
    same write), `?gzip=1` answers
    gzip-compressed and chunked. Every answer names the client's port, that is which connection
    the call came on; `requests` counts the requests that arrived."""

    def __init__(self, idle_timeout: float = 30.0, always: str | None = None) -> None:
        self.idle_timeout = idle_timeout
        self.always = always  # a misbehaviour for every request, whatever its query
        self.handlers: list[asyncio.Task[None]] = []
        self.requests = 0

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.handlers.append(asyncio.current_task())  # type: ignore[arg-type]
        port = writer.get_extra_info("peername")[1]
        try:
            while True:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.idle_timeout)
                self.requests += 1
                method, target = head.decode().split(" ", 2)[:2]
                query = {k: v[0] for k, v in parse_qs(urlsplit(target).query).items()}
                if self.always:
                    query[self.always] = "1"
                length = next(
                    (
                        int(line.split(":", 1)[1])
                        for line in head.decode().split("\r\n")
                        if line.lower().startswith("content-length:")
                    ),
                    0,
                )
                if "stall" in query:  # neither reads the body nor answers
                    await asyncio.sleep(3600)
                posted = await reader.readexactly(length)
                if "hangup" in query:
                    break
                if "reset" in query:  # half an answer framed by the hang-up, then a reset
                    writer.write(b'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{"status": "DO')
                    await writer.drain()
                    await asyncio.sleep(0.1)
                    linger = struct.pack("ii", 1, 0)
                    writer.get_extra_info("socket").setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, linger
                    )
                    writer.transport.abort()
                    return
                await asyncio.sleep(float(query.get("wait", "0")))
                body = (str(len(posted)) if method == "POST" else query.get("n", "")).encode()
                close = "close" in query
                headers = b"X-Client-Port: %d\r\n" % port
                if close:
                    headers += b"Connection: close\r\n"
                if "gzip" in query:
                    packed = gzip.compress(body)
                    chunks = b"%x\r\n%s\r\n0\r\n\r\n" % (len(packed), packed)
                    headers += b"Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"
                    writer.write(b"HTTP/1.1 200 OK\r\n%s\r\n%s" % (headers, chunks))
                else:
                    headers += b"Content-Length: %d\r\n" % len(body)
                    junk = (
                        b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\njunk"
                        if "junk" in query
                        else b""
                    )
                    writer.write(b"HTTP/1.1 200 OK\r\n%s\r\n%s%s" % (headers, body, junk))
                await writer.drain()
                if "stray" in query:
                    await asyncio.sleep(0.05)
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstray")
                    await writer.drain()
                if close:
                    break
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


@contextlib.asynccontextmanager
async def serving(server: LoopbackServer, tls: ssl.SSLContext | None = None) -> AsyncIterator[str]:
    listening = await asyncio.start_server(server, "127.0.0.1", 0, ssl=tls)
    async with listening:
        scheme = "https" if tls else "http"
        yield f"{scheme}://localhost:{listening.sockets[0].getsockname()[1]}/"
        # the clients are closed: let every connection's handler see it and finish
        for handler in server.handlers:
            handler.cancel()
        await asyncio.gather(*server.handlers, return_exceptions=True)


@contextlib.asynccontextmanager
async def client(
    max_connections: int,
    keepalive: int,
    pool_timeout: float = 5.0,
    keepalive_expiry: float = 5.0,
    timeout: float = 5.0,
) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(
        max_connections=max_connections,
        max_keepalive_connections=keepalive,
        keepalive_expiry=keepalive_expiry,
    )
    async with httpx.AsyncClient(
        transport=Http11Transport(limits), timeout=httpx.Timeout(timeout, pool=pool_timeout)
    ) as http:
        yield http


def transport_of(http: httpx.AsyncClient) -> Http11Transport:
    transport = http._transport  # type: ignore[attr-defined]
    assert isinstance(transport, Http11Transport)
    return transport


async def test_concurrent_calls_are_all_answered_on_at_most_max_connections() -> None:
    async with serving(LoopbackServer()) as url, client(max_connections=4, keepalive=2) as http:
        transport = transport_of(http)
        most = 0

        async def call(n: int) -> str:
            nonlocal most
            answered = await http.get(url, params={"n": n, "wait": 0.02})
            most = max(most, transport.open_connections)
            return answered.text

        answers = await asyncio.gather(*(call(n) for n in range(24)))

        assert answers == [str(n) for n in range(24)]
        assert most == 4
        assert transport.open_connections == 2  # idle beyond max_keepalive_connections: closed
        # Calls one after another then reuse a kept connection: no new connection per call.
        ports = {(await http.get(url)).headers["X-Client-Port"] for _ in range(5)}
        assert len(ports) == 1
        assert transport.open_connections == 2


async def test_a_full_pool_waits_for_a_connection_then_gives_up_with_a_pool_timeout() -> None:
    async with (
        serving(LoopbackServer()) as url,
        client(max_connections=1, keepalive=1, pool_timeout=0.2) as http,
    ):
        slow = asyncio.create_task(http.get(url, params={"wait": 1.0}))
        await asyncio.sleep(0.1)
        with pytest.raises(httpx.PoolTimeout):
            await http.get(url)
        assert (await slow).status_code == 200
        assert (await http.get(url, params={"n": 7})).text == "7"  # the connection came back


async def test_a_full_pool_to_one_host_makes_room_for_another_by_closing_an_idle_connection() -> (
    None
):
    async with (
        serving(LoopbackServer()) as first,
        serving(LoopbackServer()) as second,
        client(max_connections=1, keepalive=1, pool_timeout=0.2) as http,
    ):
        assert (await http.get(first, params={"n": 1})).text == "1"
        assert (await http.get(second, params={"n": 2})).text == "2"
        assert transport_of(http).open_connections == 1


async def test_a_connection_the_server_closed_after_answering_is_replaced() -> None:
    async with serving(LoopbackServer()) as url, client(max_connections=2, keepalive=2) as http:
        closed = await http.get(url, params={"n": 1, "close": 1})
        after = [await http.get(url, params={"n": n}) for n in (2, 3)]

        assert [closed.text, *(a.text for a in after)] == ["1", "2", "3"]
        assert after[0].headers["X-Client-Port"] != closed.headers["X-Client-Port"]
        assert after[1].headers["X-Client-Port"] == after[0].headers["X-Client-Port"]
        assert transport_of(http).open_connections == 1


async def test_a_connection_the_server_closed_while_idle_is_never_reused() -> None:
    """A call sent on a connection the server had closed would fail, and a confirm could not tell
    whether Toss got it."""
    async with (
        serving(LoopbackServer(idle_timeout=0.05)) as url,
        client(max_connections=4, keepalive=4) as http,
    ):
        first = await http.get(url)
        second = await http.get(url)  # right away: the same connection
        await asyncio.sleep(0.3)  # the server hangs up on it
        third = await http.get(url)

    assert first.headers["X-Client-Port"] == second.headers["X-Client-Port"]
    assert third.status_code == 200
    assert third.headers["X-Client-Port"] != first.headers["X-Client-Port"]


@pytest.mark.parametrize("unasked", ["stray", "junk"])
async def test_a_connection_that_said_something_unasked_is_never_reused(unasked: str) -> None:
    """Bytes beyond an answer would be read as the next call's answer."""
    async with serving(LoopbackServer()) as url, client(max_connections=4, keepalive=4) as http:
        first = await http.get(url, params={"n": 1, unasked: 1})
        await asyncio.sleep(0.5)  # the stray bytes arrive (sent 0.05 s after the answer)
        second = await http.get(url, params={"n": 2})

    assert second.text == "2"
    assert second.headers["X-Client-Port"] != first.headers["X-Client-Port"]


async def test_a_connection_idle_past_its_keepalive_expiry_is_not_reused() -> None:
    async with (
        serving(LoopbackServer()) as url,
        client(max_connections=4, keepalive=4, keepalive_expiry=0.1) as http,
    ):
        first = await http.get(url)
        await asyncio.sleep(0.3)
        second = await http.get(url)

    assert second.headers["X-Client-Port"] != first.headers["X-Client-Port"]
    assert transport_of(http).open_connections == 0  # closed with the client


async def test_a_gzipped_chunked_answer_and_a_large_body_go_through() -> None:
    async with serving(LoopbackServer()) as url, client(max_connections=2, keepalive=2) as http:
        packed = await http.get(url, params={"n": "압축된 답", "gzip": 1})
        posted = await http.post(url, content=b"x" * 3_000_000)  # more than a socket buffer
        after = await http.get(url, params={"n": 3})

    assert packed.text == "압축된 답"
    assert posted.text == "3000000"
    assert after.headers["X-Client-Port"] == posted.headers["X-Client-Port"]


async def test_a_server_that_hangs_up_without_answering_is_a_protocol_error_not_a_refusal() -> None:
    server = LoopbackServer()
    async with serving(server) as url, client(max_connections=2, keepalive=2) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.post(url, params={"hangup": 1}, json={"amount": 15000})
        assert server.requests == 1  # it arrived: the caller must not read this as "not sent"
        assert transport_of(http).open_connections == 0
        assert (await http.get(url, params={"n": 2})).text == "2"


async def test_a_connection_reset_halfway_through_an_answer_is_a_read_error_not_a_short_answer() -> (
    None
):
    """An answer framed by the connection's end is complete only if the end was clean."""
    async with serving(LoopbackServer()) as url, client(max_connections=1, keepalive=1) as http:
        with pytest.raises(httpx.ReadError):
            await http.get(url, params={"reset": 1})
        assert transport_of(http).open_connections == 0


async def test_a_waiter_woken_and_then_cancelled_passes_its_turn_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A connection that came free must not wait unused for the pool timeout because the call it
    was handed to was cancelled before it could take it."""
    async with (
        serving(LoopbackServer()) as url,
        client(max_connections=1, keepalive=1, pool_timeout=2.0) as http,
    ):
        transport = transport_of(http)
        busy = asyncio.create_task(http.get(url, params={"wait": 0.3}))
        await asyncio.sleep(0.1)
        first = asyncio.create_task(http.get(url, params={"n": 1}))
        second = asyncio.create_task(http.get(url, params={"n": 2}))
        await asyncio.sleep(0.05)  # both wait for the one connection
        wake_one = transport._wake_one

        def wake_then_cancel_the_first() -> None:
            wake_one()
            if not first.done():
                first.cancel()  # after it was woken, before it runs

        monkeypatch.setattr(transport, "_wake_one", wake_then_cancel_the_first)
        await busy
        monkeypatch.setattr(transport, "_wake_one", wake_one)
        assert (await second).text == "2"  # not a PoolTimeout: it was handed the turn
        with pytest.raises(asyncio.CancelledError):
            await first


async def test_a_server_that_never_answers_is_a_read_timeout_and_its_connection_is_dropped() -> (
    None
):
    async with (
        serving(LoopbackServer()) as url,
        client(max_connections=1, keepalive=1, timeout=0.2) as http,
    ):
        with pytest.raises(httpx.ReadTimeout):
            await http.get(url, params={"stall": 1})
        assert transport_of(http).open_connections == 0
        assert (await http.get(url, params={"n": 2})).text == "2"  # the pool's one slot is free


async def test_a_server_that_stops_reading_is_a_write_timeout() -> None:
    async with (
        serving(LoopbackServer()) as url,
        client(max_connections=1, keepalive=1, timeout=0.3) as http,
    ):
        with pytest.raises(httpx.WriteTimeout):  # more than the kernel's buffers on both sides
            await http.post(url, params={"stall": 1}, content=b"x" * 64_000_000)
        assert transport_of(http).open_connections == 0


async def test_a_call_cancelled_while_waiting_leaves_no_connection_behind() -> None:
    async with serving(LoopbackServer()) as url, client(max_connections=1, keepalive=1) as http:
        first = await http.get(url, params={"n": 1})
        waiting = asyncio.create_task(http.get(url, params={"wait": 5}))
        await asyncio.sleep(0.1)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        after = await http.get(url, params={"n": 2})

    assert after.text == "2"
    assert after.headers["X-Client-Port"] != first.headers["X-Client-Port"]  # half-used: closed


async def test_a_refused_connection_is_a_connect_error() -> None:
    with socket.socket() as closed_port:
        closed_port.bind(("127.0.0.1", 0))
        port = closed_port.getsockname()[1]
    async with client(max_connections=1, keepalive=1) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{port}/")
        assert transport_of(http).open_connections == 0


async def test_a_tls_handshake_that_never_ends_is_a_connect_timeout() -> None:
    """Nothing is sent before the handshake ends: a connect timeout, safe to try again."""
    server = LoopbackServer()  # plain TCP: it never answers the client's TLS hello
    async with serving(server) as url, client(max_connections=1, keepalive=1, timeout=0.2) as http:
        with pytest.raises(httpx.ConnectTimeout):
            await http.get(url.replace("http://", "https://"))
        assert server.requests == 0
        assert transport_of(http).open_connections == 0


async def test_a_call_on_a_closed_transport_is_refused() -> None:
    async with serving(LoopbackServer()) as url:
        transport = Http11Transport(httpx.Limits())
        await transport.aclose()
        with pytest.raises(RuntimeError):
            await transport.handle_async_request(httpx.Request("GET", url))


@pytest.mark.parametrize(
    ("server", "code", "sent"),
    [
        (LoopbackServer(always="hangup"), "CONNECTION_DROPPED", True),
        (LoopbackServer(always="stall"), "TIMEOUT", True),
        (None, "CONNECTION_FAILED", False),
    ],
    ids=["hung-up", "no-answer", "refused"],
)
async def test_through_the_toss_client_a_confirm_left_unanswered_is_unknown_and_says_if_it_left(
    server: LoopbackServer | None, code: str, sent: bool
) -> None:
    """The client reads the transport's errors: "may have been applied" once the confirm went
    out (the payment is then looked up, never called failed), "could not reach" when it did not."""
    async with contextlib.AsyncExitStack() as stack:
        if server is None:
            with socket.socket() as closed_port:
                closed_port.bind(("127.0.0.1", 0))
                url = f"http://127.0.0.1:{closed_port.getsockname()[1]}"
        else:
            url = await stack.enter_async_context(serving(server))
        toss = await stack.enter_async_context(
            AsyncTossClient(
                secret_key="test_sk_x",
                base_url=url,
                retry_policy=RetryPolicy.never(),
                timeouts=TossTimeouts(read=0.2),
            )
        )
        assert isinstance(toss._http._transport, Http11Transport)
        with pytest.raises(TossUnknown) as caught:
            await toss.confirm(payment_key="pk", order_id="order-1", amount=15000)

    assert caught.value.code == code
    assert (server is not None and server.requests == 1) is sent


def self_signed_localhost(directory: Path) -> tuple[Path, Path]:
    """A certificate for `localhost` and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "localhost.pem", directory / "localhost.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


async def test_over_tls_a_connection_is_reused_and_one_the_server_closed_is_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Toss is reached over TLS: a kept connection is reused, and the server's hang-up is seen
    through the TLS layer."""
    cert_file, key_file = self_signed_localhost(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))  # the client trusts this certificate only
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert_file, key_file)
    async with (
        serving(LoopbackServer(idle_timeout=0.2), tls) as url,
        client(max_connections=4, keepalive=4) as http,
    ):
        first = await http.get(url, params={"n": 1})
        second = await http.get(url, params={"n": 2})
        await asyncio.sleep(0.5)  # the server hangs up on the idle connection
        third = await http.get(url, params={"n": 3})

    assert [first.text, second.text, third.text] == ["1", "2", "3"]
    assert first.headers["X-Client-Port"] == second.headers["X-Client-Port"]
    assert third.headers["X-Client-Port"] != first.headers["X-Client-Port"]


async def test_a_certificate_the_client_does_not_trust_is_a_connect_error(tmp_path: Path) -> None:
    cert_file, key_file = self_signed_localhost(tmp_path)  # trusted by nobody here
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert_file, key_file)
    server = LoopbackServer()
    async with serving(server, tls) as url, client(max_connections=1, keepalive=1) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(url)
        assert server.requests == 0
        assert transport_of(http).open_connections == 0


def no_proxy_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


async def test_the_async_client_uses_this_pool_unless_given_a_transport_or_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    no_proxy_in_the_environment(monkeypatch)
    async with AsyncTossClient(secret_key="test_sk_x", base_url="http://127.0.0.1:9") as toss:
        assert isinstance(toss._http._transport, Http11Transport)
    mine = httpx.AsyncHTTPTransport()
    async with AsyncTossClient(
        secret_key="test_sk_x", base_url="http://127.0.0.1:9", transport=mine
    ) as toss:
        assert toss._http._transport is mine
    async with (
        httpx.AsyncClient() as shared,
        AsyncTossClient(secret_key="test_sk_x", http_client=shared) as toss,
    ):
        assert toss._http is shared


async def test_behind_a_proxy_the_client_keeps_httpxs_own_transport_and_the_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """httpx reads HTTPS_PROXY only for a client built without a transport: a shop whose egress
    goes through a proxy must still reach Toss through it."""
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.shop.internal:3128")
    async with AsyncTossClient(secret_key="test_sk_x", base_url="https://api.example") as toss:
        transport = toss._http._transport_for_url(httpx.URL("https://api.example/v1/payments"))
        assert isinstance(transport._pool, httpcore.AsyncHTTPProxy)  # type: ignore[attr-defined]
