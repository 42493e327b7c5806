"""The pool the async client's calls go out on, over a real loopback server: every call placed,
connections reused and bounded, a full pool waits and then fails as httpx says, and a connection
the server closed is never used again."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ssl
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

from sunap_toss import AsyncTossClient
from sunap_toss.connection_pool import LinearConnectionPool, LinearPoolTransport


class LoopbackServer:
    """A bare HTTP/1.1 server: answers `?n=` with n, after `?wait=` seconds, on a connection it
    closes after the answer when asked (`?close=1`) or after `idle_timeout` seconds without a
    request, silently, as a server whose keep-alive timeout runs out does. Every answer names the
    client's port, that is which connection the call came on."""

    def __init__(self, idle_timeout: float = 30.0) -> None:
        self.idle_timeout = idle_timeout
        self.handlers: list[asyncio.Task[None]] = []

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.handlers.append(asyncio.current_task())  # type: ignore[arg-type]
        port = writer.get_extra_info("peername")[1]
        try:
            while True:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.idle_timeout)
                target = head.split(b" ", 2)[1].decode()
                query = {k: v[0] for k, v in parse_qs(urlsplit(target).query).items()}
                await asyncio.sleep(float(query.get("wait", "0")))
                body = query.get("n", "").encode()
                close = "close" in query
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nX-Client-Port: %d\r\n%s\r\n%s"
                    % (len(body), port, b"Connection: close\r\n" if close else b"", body)
                )
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
        await asyncio.gather(*server.handlers)


@contextlib.asynccontextmanager
async def client(
    max_connections: int, keepalive: int, pool_timeout: float = 5.0
) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=keepalive)
    async with httpx.AsyncClient(
        transport=LinearPoolTransport(limits), timeout=httpx.Timeout(5.0, pool=pool_timeout)
    ) as http:
        yield http


def pool_of(http: httpx.AsyncClient) -> LinearConnectionPool:
    pool = http._transport._pool  # type: ignore[attr-defined]
    assert isinstance(pool, LinearConnectionPool)
    return pool


async def test_concurrent_calls_are_all_answered_on_at_most_max_connections() -> None:
    async with serving(LoopbackServer()) as url, client(max_connections=4, keepalive=2) as http:
        pool = pool_of(http)
        most = 0

        async def call(n: int) -> str:
            nonlocal most
            answered = await http.get(url, params={"n": n, "wait": 0.02})
            most = max(most, len(pool.connections))
            return answered.text

        answers = await asyncio.gather(*(call(n) for n in range(24)))

        assert answers == [str(n) for n in range(24)]
        assert most == 4
        assert len(pool.connections) == 2  # idle beyond max_keepalive_connections: closed
        # Calls one after another then reuse a kept connection: no new connection per call.
        ports = {(await http.get(url)).headers["X-Client-Port"] for _ in range(5)}
        assert len(ports) == 1
        assert len(pool.connections) == 2


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


async def test_a_connection_the_server_closed_after_answering_is_replaced() -> None:
    async with serving(LoopbackServer()) as url, client(max_connections=2, keepalive=2) as http:
        closed = await http.get(url, params={"n": 1, "close": 1})
        after = [await http.get(url, params={"n": n}) for n in (2, 3)]

        assert [closed.text, *(a.text for a in after)] == ["1", "2", "3"]
        assert after[0].headers["X-Client-Port"] != closed.headers["X-Client-Port"]
        assert after[1].headers["X-Client-Port"] == after[0].headers["X-Client-Port"]
        assert len(pool_of(http).connections) == 1


async def test_a_connection_the_server_closed_while_idle_is_never_reused() -> None:
    """A call sent on a connection the server had closed would fail, and a confirm could not tell
    whether Toss got it: the pool looks before reusing, whether or not it swept lately."""
    async with (
        serving(LoopbackServer(idle_timeout=0.05)) as url,
        client(max_connections=4, keepalive=4) as http,
    ):
        first = await http.get(url)
        second = await http.get(url)  # right away: the same connection
        await asyncio.sleep(0.3)  # the server hangs up on it; no sweep is due (one a second)
        third = await http.get(url)

    assert first.headers["X-Client-Port"] == second.headers["X-Client-Port"]
    assert third.status_code == 200
    assert third.headers["X-Client-Port"] != first.headers["X-Client-Port"]


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
    """Toss is reached over TLS: the pool's look at an idle connection (did the server hang up?)
    reads the TCP socket under the TLS layer, kept from before the handshake."""
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


def no_proxy_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


async def test_the_async_client_uses_this_pool_unless_given_a_transport_or_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    no_proxy_in_the_environment(monkeypatch)
    async with AsyncTossClient(secret_key="test_sk_x", base_url="http://127.0.0.1:9") as toss:
        assert isinstance(pool_of(toss._http), LinearConnectionPool)
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


async def test_without_poll_the_look_at_an_idle_connection_uses_select(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Windows has no select.poll: the pool must still see a server's hang-up there.
    monkeypatch.delattr("select.poll")
    await test_a_connection_the_server_closed_while_idle_is_never_reused()
