"""The clients Toss calls go out on keep no cookies: one client serves every merchant account, so
a cookie one answer set must not go out with the next call, whoever's it is."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from sunap_toss import AsyncTossClient, TossClient, TossTimeouts
from sunap_toss.http_clients import new_async_http_client, new_http_client


class _SetsACookie(BaseHTTPRequestHandler):
    """Sets a cookie on every answer and answers with the Cookie header it was sent."""

    def do_GET(self) -> None:
        body = (self.headers.get("Cookie") or "").encode()
        self.send_response(200)
        self.send_header("Set-Cookie", "affinity=merchant-a; Path=/")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture()
def cookie_setter() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SetsACookie)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_a_plain_httpx_client_would_send_the_cookie_back(cookie_setter: str) -> None:
    # What the clients below are guarding against, shown on httpx's own client.
    with httpx.Client() as plain:
        plain.get(cookie_setter)
        assert plain.get(cookie_setter).text == "affinity=merchant-a"


async def test_the_async_client_sends_no_cookie_an_answer_set(cookie_setter: str) -> None:
    async with new_async_http_client(TossTimeouts(), max_connections=4) as http:
        first = await http.get(cookie_setter)
        second = await http.get(cookie_setter)
        http.cookies.set("planted", "x")
        third = await http.get(cookie_setter)
    assert first.headers["Set-Cookie"].startswith("affinity=")
    assert [second.text, third.text] == ["", ""]
    assert len(http.cookies) == 0


def test_the_blocking_client_sends_no_cookie_an_answer_set(cookie_setter: str) -> None:
    with new_http_client(TossTimeouts(), max_connections=4) as http:
        http.get(cookie_setter)
        assert http.get(cookie_setter).text == ""
        assert len(http.cookies) == 0


async def test_the_toss_clients_build_cookieless_clients_unless_given_one() -> None:
    async with AsyncTossClient(secret_key="test_sk_x", base_url="http://127.0.0.1:9") as toss:
        assert len(toss._http.cookies) == 0
        toss._http.cookies.set("planted", "x")
        assert len(toss._http.cookies) == 0
    with TossClient(secret_key="test_sk_x", base_url="http://127.0.0.1:9") as blocking:
        blocking._http.cookies.set("planted", "x")
        assert len(blocking._http.cookies) == 0
    # A client the caller brings is theirs, cookies and all.
    async with (
        httpx.AsyncClient() as theirs,
        AsyncTossClient(secret_key="test_sk_x", http_client=theirs) as toss,
    ):
        toss._http.cookies.set("session", "kept")
        assert theirs.cookies.get("session") == "kept"
