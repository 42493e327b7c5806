"""A pooled client does nothing per call that it could do once: no import, no new connection."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import TYPE_CHECKING

import pytest

from sunap_toss import AsyncTossClient, TossClient, TossNotFound

if TYPE_CHECKING:
    from conftest import StandaloneSandbox

SANDBOX_SECRET_KEY = "test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R"


class ImportRecorder:
    """A meta-path finder that only writes down what Python looked for (found or not)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def find_spec(
        self,
        name: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        self.names.append(name)
        return None


@pytest.fixture
def imports() -> Iterator[ImportRecorder]:
    recorder = ImportRecorder()
    sys.meta_path.insert(0, recorder)
    try:
        yield recorder
    finally:
        sys.meta_path.remove(recorder)


async def test_an_async_call_attempts_no_import(
    sandbox: StandaloneSandbox, imports: ImportRecorder
) -> None:
    # httpcore looks for sniffio on every async request; were it missing, each request would
    # search sys.path for it (a profile showed it), which is why sunap-toss depends on it.
    async with AsyncTossClient(secret_key=SANDBOX_SECRET_KEY, base_url=sandbox.url) as toss:
        with pytest.raises(TossNotFound):
            await toss.get_payment_by_order_id("order-warming-up")
        imports.names.clear()
        for _ in range(5):
            with pytest.raises(TossNotFound):
                await toss.get_payment_by_order_id("order-nobody-used")
    assert imports.names == []


def test_a_sync_call_attempts_no_import(
    sandbox: StandaloneSandbox, imports: ImportRecorder
) -> None:
    with TossClient(secret_key=SANDBOX_SECRET_KEY, base_url=sandbox.url) as toss:
        with pytest.raises(TossNotFound):
            toss.get_payment_by_order_id("order-warming-up")
        imports.names.clear()
        for _ in range(5):
            with pytest.raises(TossNotFound):
                toss.get_payment_by_order_id("order-nobody-used")
    assert imports.names == []


async def test_a_path_called_again_is_not_parsed_again(
    sandbox: StandaloneSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Parsing a URL given as text was a third of building each request (a confirm's path never
    # changes); the transport keeps the parsed URL.
    import httpx._urls

    parsed: list[str] = []
    urlparse = httpx._urls.urlparse

    def recorded(url: str = "", **kwargs: object) -> object:
        parsed.append(url)
        return urlparse(url, **kwargs)  # type: ignore[arg-type]

    async with AsyncTossClient(secret_key=SANDBOX_SECRET_KEY, base_url=sandbox.url) as toss:
        with pytest.raises(TossNotFound):
            await toss.get_payment_by_order_id("order-nobody-used")
        monkeypatch.setattr(httpx._urls, "urlparse", recorded)
        for _ in range(5):
            with pytest.raises(TossNotFound):
                await toss.get_payment_by_order_id("order-nobody-used")
    assert parsed == []
