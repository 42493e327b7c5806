"""The gateway's Toss calls go out on sunap_toss's linear pool (its own tests say what it does)."""

from __future__ import annotations

import pytest

from sunap.adapters.toss import build_toss_gateway
from sunap_toss.connection_pool import LinearConnectionPool


async def test_the_gateway_calls_toss_through_the_linear_pool(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):  # behind a proxy, httpx's own
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    _gateway, http = build_toss_gateway("test_sk_x", "http://127.0.0.1:9")
    async with http:
        assert isinstance(http._transport._pool, LinearConnectionPool)  # type: ignore[attr-defined]
