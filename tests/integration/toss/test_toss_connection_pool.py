"""The pool Toss calls go out on, over a real loopback server: every call placed, connections
reused and bounded, a full pool waits and then fails as httpx says, and a server that hangs up
on an idle connection costs nothing but a new one."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from sunap.adapters.toss import build_toss_gateway
from sunap.adapters.toss.connection_pool import LinearConnectionPool, TossTransport
from tests.support.sandbox_server import serving


async def answer(request: Request) -> Response:
    await asyncio.sleep(float(request.query_params.get("wait", "0")))
    headers = {"Connection": "close"} if "close" in request.query_params else {}
    port = request.client.port if request.client else 0  # which connection the call came on
    return PlainTextResponse(
        request.query_params.get("n", ""), headers={**headers, "X-Client-Port": str(port)}
    )


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serving(Starlette(routes=[Route("/", answer)])) as url:
        yield url


def client(max_connections: int, keepalive: int, pool_timeout: float = 5.0) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=keepalive)
    return httpx.AsyncClient(
        transport=TossTransport(limits), timeout=httpx.Timeout(5.0, pool=pool_timeout)
    )


def pool_of(http: httpx.AsyncClient) -> LinearConnectionPool:
    pool = http._transport._pool  # type: ignore[attr-defined]
    assert isinstance(pool, LinearConnectionPool)
    return pool


async def test_concurrent_calls_are_all_answered_on_at_most_max_connections(server: str) -> None:
    async with client(max_connections=4, keepalive=2) as http:
        pool = pool_of(http)
        most = 0

        async def call(n: int) -> str:
            nonlocal most
            answered = await http.get(server, params={"n": n, "wait": 0.02})
            most = max(most, len(pool.connections))
            return answered.text

        answers = await asyncio.gather(*(call(n) for n in range(24)))

        assert answers == [str(n) for n in range(24)]
        assert most == 4
        assert len(pool.connections) == 2  # idle beyond max_keepalive_connections: closed
        # Calls one after another then reuse a kept connection: no new connection per call.
        ports = {(await http.get(server)).headers["X-Client-Port"] for _ in range(5)}
        assert len(ports) == 1
        assert len(pool.connections) == 2


async def test_a_full_pool_waits_for_a_connection_then_gives_up_with_a_pool_timeout(
    server: str,
) -> None:
    async with client(max_connections=1, keepalive=1, pool_timeout=0.2) as http:
        slow = asyncio.create_task(http.get(server, params={"wait": 1.0}))
        await asyncio.sleep(0.1)
        with pytest.raises(httpx.PoolTimeout):
            await http.get(server)
        assert (await slow).status_code == 200
        assert (await http.get(server, params={"n": 7})).text == "7"  # the connection came back


async def test_a_connection_the_server_closed_is_replaced(server: str) -> None:
    async with client(max_connections=2, keepalive=2) as http:
        closed = await http.get(server, params={"n": 1, "close": 1})
        after = [await http.get(server, params={"n": n}) for n in (2, 3)]

        assert [closed.text, *(a.text for a in after)] == ["1", "2", "3"]
        assert after[0].headers["X-Client-Port"] != closed.headers["X-Client-Port"]
        assert after[1].headers["X-Client-Port"] == after[0].headers["X-Client-Port"]
        assert len(pool_of(http).connections) == 1


class HangsUpWhenIdle:
    """A server that answers keep-alive requests and closes a connection idle for 50 ms, as a
    server whose keep-alive timeout runs out does: silently, between requests."""

    def __init__(self) -> None:
        self.handlers: list[asyncio.Task[None]] = []

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.handlers.append(asyncio.current_task())  # type: ignore[arg-type]
        body = str(writer.get_extra_info("peername")[1]).encode()  # the client's port
        try:
            while True:
                await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=0.05)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
                await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


async def test_a_connection_the_server_closed_while_idle_is_never_reused() -> None:
    """A call sent on a connection the server had closed would fail, and a confirm could not tell
    whether Toss got it: the pool looks before reusing, whether or not it swept lately."""
    hangs_up = HangsUpWhenIdle()
    server = await asyncio.start_server(hangs_up, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    async with server:
        async with client(max_connections=4, keepalive=4) as http:
            first = await http.get(url)
            second = await http.get(url)  # right away: the same connection
            await asyncio.sleep(0.3)  # the server hangs up on it; no sweep is due (one a second)
            third = await http.get(url)
        await asyncio.gather(*hangs_up.handlers)

    assert first.text == second.text
    assert third.status_code == 200
    assert third.text != first.text  # a new connection, not the closed one


async def test_the_gateway_calls_toss_through_this_pool() -> None:
    _gateway, http = build_toss_gateway("test_sk_x", "http://127.0.0.1:9")
    async with http:
        assert isinstance(pool_of(http), LinearConnectionPool)
