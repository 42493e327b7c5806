"""The hosted checkout with a Toss key: the page opens Toss's JS SDK v2 with the account's client
key and the payment as stored, under a policy that allows Toss's origins and no others.

There is no Toss here: a standalone sandbox on another origin stands for Toss's servers, and the
SDK's URL is answered by a stand-in we own that does what Toss's window does for a customer who
pays: it goes to the window with what `requestPayment()` was given, and the window sends the
customer back to the successUrl.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Route

from tests.browser.conftest import Visit, origin_of, shoot
from tests.e2e.flows import create_payment
from tests.support.sandbox_server import SANDBOX_CLIENT_KEY, SANDBOX_SECRET_KEY, running_sandbox
from tests.support.service import SUNAP, RunningService, running_service

SDK = "https://js.tosspayments.com/v2/standard"
STAND_IN_SDK = """
window.TossPayments = function (clientKey) {
  return { payment: function (who) {
    return { requestPayment: function (request) {
      var q = new URLSearchParams({
        clientKey: clientKey, customerKey: who.customerKey, method: request.method,
        currency: request.amount.currency, amount: String(request.amount.value),
        orderId: request.orderId, orderName: request.orderName,
        successUrl: request.successUrl, failUrl: request.failUrl });
      window.location.href = "%(toss)s/sandbox/checkout?" + q.toString();
      return new Promise(function () {});
    } };
  } };
};
window.TossPayments.ANONYMOUS = "@@ANONYMOUS";
"""


@pytest.fixture(scope="module")
def toss() -> Iterator[str]:
    with running_sandbox() as base_url:
        yield base_url


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, toss: str) -> Iterator[RunningService]:
    with running_service(
        Path(tmp_path_factory.mktemp("sunap-toss")),
        TOSS_SECRET_KEY=SANDBOX_SECRET_KEY,
        TOSS_CLIENT_KEY=SANDBOX_CLIENT_KEY,
        TOSS_API_BASE_URL=toss,
    ) as svc:
        yield svc


@pytest.fixture(scope="module")
def api(service: RunningService) -> Iterator[httpx.Client]:
    with service.client(service.create_key("shop-toss", "payments:read", "payments:write")) as c:
        yield c


@pytest.fixture
def sdk(visit: Visit, toss: str) -> Visit:
    def answer(route: Route) -> None:
        route.fulfill(
            status=200, content_type="text/javascript", body=STAND_IN_SDK % {"toss": toss}
        )

    visit.context.route(f"{SDK}*", answer)
    return visit


def test_the_page_hands_toss_sdk_the_client_key_and_the_stored_payment(
    sdk: Visit, api: httpx.Client, service: RunningService, toss: str, merchant: str
) -> None:
    payment = create_payment(
        api, 15000, customerKey="cust-0042", successUrl=f"{merchant}/shop/success"
    )
    page = sdk.page
    response = page.goto(payment["checkout"]["url"])
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "script-src 'self' https://js.tosspayments.com;" in policy
    assert "frame-src https://*.tosspayments.com https://*.toss.im" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert page.locator(".sandbox-note").count() == 0
    shoot(page, "checkout-toss-1-pay-page")
    page.get_by_role("button", name="결제하기").click()

    page.wait_for_url(f"{toss}/sandbox/checkout?**")
    asked = {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}
    assert asked["clientKey"] == SANDBOX_CLIENT_KEY
    assert asked["customerKey"] == "cust-0042"
    assert (asked["method"], asked["currency"], asked["amount"]) == ("CARD", "KRW", "15000")
    assert (asked["orderId"], asked["orderName"]) == (payment["orderId"], payment["orderName"])
    assert asked["successUrl"].startswith(f"{service.base_url}/checkout/{payment['id']}/success?")
    assert asked["failUrl"].startswith(f"{service.base_url}/checkout/{payment['id']}/fail?")
    page.locator("button.approve").click()

    page.wait_for_url(f"{merchant}/shop/success?**")
    assert page.locator("#status").inner_text() == "DONE"
    assert api.get(f"/v1/payments/{payment['id']}").json()["status"] == "DONE"
    assert sdk.problems == []  # no CSP refusal, no script error
    own_pages = {origin_of(r.url) for r in sdk.traffic.requests if not r.is_navigation_request()}
    assert own_pages <= {service.base_url, "https://js.tosspayments.com", toss}


def test_an_anonymous_customer_is_anonymous_to_toss(
    sdk: Visit, api: httpx.Client, toss: str
) -> None:
    payment = create_payment(api, 1000)
    sdk.page.goto(payment["checkout"]["url"])
    sdk.page.get_by_role("button", name="결제하기").click()
    sdk.page.wait_for_url(f"{toss}/sandbox/checkout?**")
    assert parse_qs(urlsplit(sdk.page.url).query)["customerKey"] == ["@@ANONYMOUS"]


def test_without_the_sdk_the_page_says_the_window_could_not_open(
    visit: Visit, api: httpx.Client
) -> None:
    visit.context.route(f"{SDK}*", lambda route: route.abort())
    payment = create_payment(api, 1000)
    visit.page.goto(payment["checkout"]["url"])
    visit.page.get_by_role("button", name="결제하기").click()
    assert "결제창을 열지 못했습니다" in visit.page.locator("#pay-error").inner_text()


def test_an_account_without_a_client_key_cannot_open_a_window_and_says_so(
    visit: Visit, service: RunningService
) -> None:
    # An account of its own (the default's keys are refused for a tenant's own account).
    (service.workdir / "own.key").write_text("test_sk_shop_own_without_client_key_01\n")
    subprocess.run(
        [*SUNAP, "tenants", "set-toss", "--tenant", "shop-own", "--secret-key-file", "own.key"],
        env=service.env,
        cwd=service.workdir,
        check=True,
        capture_output=True,
    )
    with service.client(service.create_key("shop-own", "payments:write")) as own:
        payment = create_payment(own, 1000)
    response = visit.page.goto(payment["checkout"]["url"])
    assert response is not None and response.status == 503
    assert visit.page.locator("h1").inner_text() == "결제 페이지를 열 수 없습니다"
