"""successUrl and failUrl: absolute http(s) URLs with a host, nothing else."""

from __future__ import annotations

import pytest

from sunap.domain.errors import InvalidRequest
from sunap.domain.return_urls import is_return_url, require_return_url


@pytest.mark.parametrize(
    "url",
    [
        "https://shop.example/pay/success?cart=42",
        "http://127.0.0.1:8080/ok",
        "HTTPS://SHOP.EXAMPLE/ok",
        "https://[::1]/ok",
        "https://상점.kr/결제/완료",
    ],
)
def test_an_absolute_http_url_with_a_host_is_taken(url: str) -> None:
    assert require_return_url(url, "successUrl") == url


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.cookie)",
        "JavaScript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "//evil.example/phish",
        "/\\evil.example",
        "https:\\\\evil.example",
        "/pay/success",
        "pay/success",
        "https://",
        "https:///path",
        "ftp://shop.example/",
        "https://shop.example:99999/",
        "https://shop .example/",
        "https://shop.example/\x00",
        "https://shop.example/\n",
        "",
        "https://shop.example/" + "a" * 2048,
    ],
)
def test_anything_else_is_refused_naming_the_field(url: str) -> None:
    assert not is_return_url(url)
    with pytest.raises(InvalidRequest, match="failUrl"):
        require_return_url(url, "failUrl")


def test_no_url_is_no_url() -> None:
    assert require_return_url(None, "successUrl") is None
