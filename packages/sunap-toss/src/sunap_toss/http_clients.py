"""The httpx clients Toss calls go out on when the caller brings none: no cookies kept.

One client serves every call, and in Sunap every tenant's Toss account: a cookie an answer set
(a load balancer's affinity cookie, say) would go out again with the next call, whoever's it is.
The Core API authenticates each request by its own header and needs no cookie, so none is kept,
and httpx's parsing of every answer's `Set-Cookie` for a jar (a sixtieth of a confirm's CPU) is
skipped.
"""

from __future__ import annotations

import http.cookiejar

import httpx

from .http11 import pooled_transport_unless_proxied
from .transport import TossTimeouts


class _KeepNothingJar(http.cookiejar.CookieJar):
    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        pass


class _NoCookies(httpx.Cookies):
    def __init__(self) -> None:
        super().__init__(_KeepNothingJar())

    def extract_cookies(self, response: httpx.Response) -> None:
        pass  # would build two urllib shims per answer, for a jar that keeps nothing


class _KeepsNoCookies:
    @property
    def cookies(self) -> httpx.Cookies:
        return _NO_COOKIES

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        pass


class CookielessAsyncClient(_KeepsNoCookies, httpx.AsyncClient):
    """An `httpx.AsyncClient` whose cookie jar keeps nothing, whatever sets a cookie."""


class CookielessClient(_KeepsNoCookies, httpx.Client):
    """An `httpx.Client` whose cookie jar keeps nothing, whatever sets a cookie."""


_NO_COOKIES = _NoCookies()


def timeout_of(timeouts: TossTimeouts) -> httpx.Timeout:
    return httpx.Timeout(
        connect=timeouts.connect, read=timeouts.read, write=timeouts.write, pool=timeouts.pool
    )


def limits_of(max_connections: int) -> httpx.Limits:
    return httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)


def new_async_http_client(
    timeouts: TossTimeouts,
    max_connections: int,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """A pooled client for Toss calls: `transport`, or HTTP/1.1 on asyncio (`http11.py`; httpx's
    own transport behind a proxy); redirects not followed, no cookies kept."""
    limits = limits_of(max_connections)
    return CookielessAsyncClient(
        timeout=timeout_of(timeouts),
        limits=limits,
        transport=transport or pooled_transport_unless_proxied(limits),
        follow_redirects=False,
    )


def new_http_client(
    timeouts: TossTimeouts,
    max_connections: int,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """The blocking twin of `new_async_http_client` (httpx's own pool)."""
    return CookielessClient(
        timeout=timeout_of(timeouts),
        limits=limits_of(max_connections),
        transport=transport,
        follow_redirects=False,
    )
