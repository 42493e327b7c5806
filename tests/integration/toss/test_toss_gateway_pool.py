"""The gateway's Toss calls go out on sunap_toss's HTTP/1.1 transport and keep no cookie (its own
tests say what each does)."""

from __future__ import annotations

import pytest

from sunap.adapters.toss import build_toss_gateway
from sunap_toss.http11 import Http11Transport


async def test_the_gateway_calls_toss_through_the_http11_transport(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):  # behind a proxy, httpx's own
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    _gateway, http = build_toss_gateway("test_sk_x", "http://127.0.0.1:9")
    async with http:
        assert isinstance(http._transport, Http11Transport)


async def test_the_gateway_client_shared_by_every_merchant_account_keeps_no_cookie() -> None:
    # One client carries every tenant's Toss calls: a cookie kept from one would go out with
    # another's (sunap_toss's tests show an answer's Set-Cookie is not sent back).
    _gateway, http = build_toss_gateway("test_sk_x", "http://127.0.0.1:9")
    async with http:
        http.cookies.set("affinity", "merchant-a")
        assert len(http.cookies) == 0
