"""The payment window redirects only to absolute http(s) URLs: `javascript:`, `//evil.example` or
a relative path get an error page, from the page itself and from each of its buttons."""

from __future__ import annotations

import httpx
import pytest

from tests.sandbox.flows import new_order_id

UNSAFE = [
    "//evil.example/phish",
    "/\\evil.example",
    "javascript:alert(document.cookie)",
    "data:text/html,hi",
    "/pay/fail",
    "https:\\\\evil.example",
    "https://shop.test/\r\nSet-Cookie: x=1",
]
SAFE = "http://shop.test/pay/done"


def window(order_id: str, *, success: str = SAFE, fail: str = SAFE) -> dict[str, str | int]:
    return {
        "orderId": order_id,
        "amount": 5000,
        "orderName": "책",
        "successUrl": success,
        "failUrl": fail,
    }


def refused(response: httpx.Response) -> bool:
    return response.status_code == 400 and "location" not in response.headers


@pytest.mark.parametrize("url", UNSAFE)
async def test_the_window_refuses_to_open_for_an_unsafe_return_url(
    toss: httpx.AsyncClient, url: str
) -> None:
    for params in (window(new_order_id(), success=url), window(new_order_id(), fail=url)):
        page = await toss.get("/sandbox/checkout", params=params)
        assert refused(page), page.text
        assert "absolute http or https" in page.text


@pytest.mark.parametrize("url", UNSAFE)
@pytest.mark.parametrize("button", ["approve", "decline", "give-up"])
async def test_no_button_redirects_to_an_unsafe_url_posted_to_it(
    toss: httpx.AsyncClient, url: str, button: str
) -> None:
    form = {"paymentKey": "tgen_unknown", "successUrl": url, "failUrl": url, "code": "FDS_ERROR"}
    response = await toss.post(f"/sandbox/checkout/{button}", data=form)
    assert refused(response), response.text


async def test_giving_up_still_redirects_to_an_absolute_fail_url(toss: httpx.AsyncClient) -> None:
    form = {"paymentKey": "tgen_unknown", "successUrl": SAFE, "failUrl": "https://shop.test/f"}
    response = await toss.post("/sandbox/checkout/give-up", data=form)
    assert response.status_code == 303
    assert response.headers["location"].startswith("https://shop.test/f?code=PAY_PROCESS_CANCELED")
