"""The dashboard's subscriptions pages in a real browser: the list (newest first, status filter,
exact customerKey, cursor pages), one subscription with its card and its charges, one tenant's
subscriptions only, read-only pages, and Toss's billingKey on none of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page

from tests.browser.conftest import (
    PHONE,
    Visit,
    fits_without_sideways_scroll,
    new_visit,
    shoot,
    unlabeled_controls,
)
from tests.browser.test_dashboard_pages import sign_in
from tests.e2e.billing_flows import billing_key, charges, customer_key, subscribe
from tests.support.service import RunningService
from tests.support.vault import toss_billing_keys_of


@dataclass(frozen=True)
class Subscriber:
    reader: str  # payments:read: what signs in to the dashboard
    key: dict[str, Any]  # the billing key of `monthly`
    monthly: dict[str, Any]  # ACTIVE, 9,900 a month, its first period charged
    ending: dict[str, Any]  # ACTIVE, 30,000 every 2 weeks, canceled at period end


@pytest.fixture(scope="module")
def subscribers(service: RunningService, sandbox: httpx.Client) -> dict[str, Subscriber]:
    made = {}
    for name in ("sub-shop-a", "sub-shop-b"):
        biller = service.create_key(name, "billing", "payments:read")
        with service.client(biller) as api:
            key = billing_key(api, sandbox, customer_key())
            monthly = subscribe(api, key)
            assert monthly.status_code == 201, monthly.text
            other = billing_key(api, sandbox, customer_key())
            team = {"plan": "team", "orderName": "Team plan", "interval": "week"}
            ending = subscribe(api, other, 30000, intervalCount=2, **team)
            assert ending.status_code == 201, ending.text
            canceled = api.post(
                f"/v1/subscriptions/{ending.json()['id']}/cancel",
                json={"cancelReason": "고객 요청", "atPeriodEnd": True},
                headers={"Idempotency-Key": f"cancel-{name}"},
            )
            assert canceled.status_code == 200, canceled.text
        made[name] = Subscriber(
            reader=service.create_key(name, "payments:read"),
            key=key,
            monthly=monthly.json(),
            ending=canceled.json(),
        )
    return made


@pytest.fixture(scope="module")
def toss_billing_keys(service: RunningService, subscribers: dict[str, Subscriber]) -> set[str]:
    """Toss's own billingKeys, opened from Sunap's vault with the service's secrets key (the
    sandbox's call log names them `{billingKey}`): the four the subscribers hold."""
    found = set(toss_billing_keys_of(service).values())
    assert len(found) >= 4 and all(len(k) >= 16 for k in found)
    return found


def html_of(page: Page) -> str:
    return page.content()


def test_the_list_shows_the_tenants_subscriptions_newest_first(
    visit: Visit,
    service: RunningService,
    subscribers: dict[str, Subscriber],
    toss_billing_keys: set[str],
) -> None:
    a = subscribers["sub-shop-a"]
    page = visit.page
    sign_in(page, service, a.reader, "/dashboard/subscriptions")
    assert page.get_by_role("link", name="구독", exact=True).get_attribute("aria-current") == "page"
    assert page.locator("h1").inner_text() == "구독"
    rows = page.locator("#subscriptions tbody tr")
    assert rows.count() == 2
    newest, oldest = rows.nth(0).inner_text(), rows.nth(1).inner_text()
    assert "team" in newest and "Team plan" in newest and a.ending["customerKey"] in newest
    assert "30,000원 / 2주" in newest
    assert "이용 중" in newest and "기간 종료 시 해지" in newest and "고객 요청" in newest
    assert "다음 결제: —" in newest
    assert "pro" in oldest and "9,900원 / 1개월" in oldest and "이용 중" in oldest
    assert "기간 종료 시 해지" not in oldest
    assert page.locator("main form[method=post]").count() == 0  # read-only
    assert all(k not in html_of(page) for k in toss_billing_keys)
    shoot(page, "dashboard-subscriptions-1-list")
    assert visit.traffic.origins() == {service.base_url}
    assert visit.problems == []


def test_the_list_filters_by_status_and_exact_customer_key(
    visit: Visit, service: RunningService, subscribers: dict[str, Subscriber]
) -> None:
    a = subscribers["sub-shop-a"]
    page = visit.page
    sign_in(page, service, a.reader, "/dashboard/subscriptions")
    page.get_by_label("customerKey").fill(a.monthly["customerKey"])
    page.get_by_role("button", name="적용").click()
    assert page.locator("#subscriptions tbody tr").count() == 1
    assert "9,900원" in page.locator("#subscriptions").inner_text()
    assert page.get_by_label("customerKey").input_value() == a.monthly["customerKey"]
    page.goto(
        f"{service.base_url}/dashboard/subscriptions?customerKey={a.monthly['customerKey'][:-1]}"
    )
    assert page.locator("#subscriptions .empty").is_visible()  # exact, not a prefix

    page.goto(f"{service.base_url}/dashboard/subscriptions")
    page.get_by_label("상태").select_option("CANCELED")
    page.get_by_role("button", name="적용").click()
    assert "status=CANCELED" in page.url
    assert page.locator("#subscriptions .empty").is_visible()
    page.get_by_label("상태").select_option("ACTIVE")
    page.get_by_role("button", name="적용").click()
    assert page.locator("#subscriptions tbody tr").count() == 2


@pytest.mark.parametrize(
    "query", ["status=BOGUS", "status=active", "cursor=not-a-cursor", "cursor=" + "x" * 600]
)
def test_bad_filter_input_gets_the_invalid_request_line_not_an_error(
    visit: Visit, service: RunningService, subscribers: dict[str, Subscriber], query: str
) -> None:
    page = visit.page
    sign_in(page, service, subscribers["sub-shop-a"].reader, "/dashboard/subscriptions")
    response = page.goto(f"{service.base_url}/dashboard/subscriptions?{query}")
    assert response is not None and response.status == 200
    assert page.locator("#problem").inner_text() == "입력값을 확인하세요."
    assert page.locator("#subscriptions tbody tr").count() == 2  # the filter was dropped


def test_one_subscription_shows_its_card_and_its_charges_linking_to_the_payment(
    visit: Visit,
    service: RunningService,
    subscribers: dict[str, Subscriber],
    toss_billing_keys: set[str],
) -> None:
    a = subscribers["sub-shop-a"]
    page = visit.page
    sign_in(page, service, a.reader, "/dashboard/subscriptions")
    page.get_by_role("link", name="pro", exact=True).click()
    page.wait_for_url(f"**/dashboard/subscriptions/{a.monthly['id']}")
    assert page.get_by_role("link", name="구독", exact=True).get_attribute("aria-current") == "page"
    assert page.locator("#status").inner_text() == "이용 중"
    assert page.locator("#amount").inner_text() == "9,900원 / 1개월"
    card = a.key["card"]
    assert card and card["number"] and "*" in card["number"]
    assert card["number"] in page.locator("#card").inner_text()
    assert card["company"] == "61" and "현대카드" in page.locator("#card").inner_text()
    assert a.key["id"] in page.locator("#billing-key").inner_text()
    assert page.locator("main form").count() == 0  # read-only
    assert all(k not in html_of(page) for k in toss_billing_keys)

    rows = page.locator("#charges tbody tr")
    assert rows.count() == 1
    assert "결제 완료" in rows.first.inner_text() and "9,900원" in rows.first.inner_text()
    shoot(page, "dashboard-subscriptions-2-detail")
    with service.client(service.create_key("sub-shop-a", "billing")) as api:
        [charge] = charges(api, a.monthly["id"])
    assert charge["id"] == a.monthly["latestPaymentId"]
    rows.first.get_by_role("link").click()
    page.wait_for_url(f"**/dashboard/payments/{charge['id']}")
    assert page.locator("#status").inner_text() == "결제 완료"
    assert page.locator("#amount").inner_text() == "9,900원"
    assert all(k not in html_of(page) for k in toss_billing_keys)
    assert visit.problems == []


def test_a_subscription_canceled_at_period_end_says_so(
    visit: Visit, service: RunningService, subscribers: dict[str, Subscriber]
) -> None:
    a = subscribers["sub-shop-a"]
    page = visit.page
    sign_in(page, service, a.reader, f"/dashboard/subscriptions/{a.ending['id']}")
    assert page.locator("#amount").inner_text() == "30,000원 / 2주"
    assert page.locator("#cancel-reason").inner_text() == "고객 요청"
    assert page.locator("#ends-at-period-end").is_visible()
    assert page.locator("#next-charge").inner_text() == "—"  # it ends instead of renewing


def test_another_tenant_sees_none_of_them_and_gets_not_found(
    visit: Visit,
    service: RunningService,
    subscribers: dict[str, Subscriber],
    toss_billing_keys: set[str],
) -> None:
    a, b = subscribers["sub-shop-a"], subscribers["sub-shop-b"]
    page = visit.page
    sign_in(page, service, b.reader, "/dashboard/subscriptions")
    listed = page.locator("#subscriptions").inner_text()
    assert b.monthly["customerKey"] in listed
    assert a.monthly["customerKey"] not in listed and a.ending["customerKey"] not in listed
    page.goto(f"{service.base_url}/dashboard/subscriptions?customerKey={a.monthly['customerKey']}")
    assert page.locator("#subscriptions .empty").is_visible()
    for sub_id in (a.monthly["id"], "sub_unknown", "x" * 300):
        response = page.goto(f"{service.base_url}/dashboard/subscriptions/{sub_id}")
        assert response is not None and response.status == 404, sub_id
        assert page.locator("h1").inner_text() == "찾을 수 없습니다"
        assert all(k not in html_of(page) for k in toss_billing_keys)
    page.goto(f"{service.base_url}/dashboard/subscriptions/{b.monthly['id']}")
    assert page.locator("#status").inner_text() == "이용 중"


def test_subscriptions_are_paged_by_cursor(
    visit: Visit, service: RunningService, sandbox: httpx.Client
) -> None:
    """25 a page; a trial charges nothing, so 27 subscriptions cost Toss one card each."""
    biller = service.create_key("sub-shop-c", "billing", "payments:read")
    with service.client(biller) as api:
        key = billing_key(api, sandbox, customer_key())
        made = []
        for n in range(27):
            created = subscribe(api, key, 1000 + n, trialDays=7)
            assert created.status_code == 201, created.text
            made.append(created.json())
    page = visit.page
    sign_in(page, service, biller, "/dashboard/subscriptions")
    rows = page.locator("#subscriptions tbody tr")
    assert rows.count() == 25
    assert "1,026원" in rows.first.inner_text() and "체험 중" in rows.first.inner_text()
    page.get_by_role("link", name="이전 →").click()
    assert rows.count() == 2
    second = page.locator("#subscriptions").inner_text()
    assert "1,001원" in second and "1,000원" in second and "1,026원" not in second
    assert page.get_by_role("link", name="이전 →").count() == 0
    page.get_by_role("link", name="← 처음으로").click()
    assert rows.count() == 25
    page.goto(f"{service.base_url}/dashboard/subscriptions/{made[0]['id']}")
    assert page.locator("#charges .empty").is_visible()  # trialing: nothing charged yet


def test_the_pages_fit_a_phone_and_speak_english_to_an_english_browser(
    browser: Browser, service: RunningService, subscribers: dict[str, Subscriber]
) -> None:
    a = subscribers["sub-shop-a"]
    with new_visit(browser, locale="ko-KR", viewport=PHONE, is_mobile=True) as phone:
        sign_in(phone.page, service, a.reader, "/dashboard/subscriptions")
        for name, path in {
            "list": "/dashboard/subscriptions",
            "detail": f"/dashboard/subscriptions/{a.monthly['id']}",
        }.items():
            response = phone.page.goto(service.base_url + path)
            assert response is not None and response.status == 200
            assert "default-src 'none'" in response.headers["content-security-policy"]
            assert fits_without_sideways_scroll(phone.page), name
            assert unlabeled_controls(phone.page) == [], name
            shoot(phone.page, f"dashboard-phone-subscriptions-{name}")
        assert phone.problems == []
    with new_visit(browser, locale="en-US") as english:
        page = english.page
        page.goto(f"{service.base_url}/dashboard/sign-in")
        page.get_by_label("API key").fill(a.reader)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{service.base_url}/dashboard")
        page.get_by_role("link", name="Subscriptions").click()
        page.wait_for_url("**/dashboard/subscriptions")
        assert page.locator("h1").inner_text() == "Subscriptions"
        text = page.locator("#subscriptions").inner_text()
        assert "₩9,900 / month" in text and "₩30,000 / 2 weeks" in text
        assert "Ends at period end" in text
        page.goto(f"{service.base_url}/dashboard/subscriptions/{a.monthly['id']}")
        assert page.locator("#status").inner_text() == "Active"
        shoot(page, "dashboard-subscriptions-3-english")
