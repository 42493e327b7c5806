"""The operators' dashboard in a real browser: signing in with an API key, one tenant's data
only, the cancel form, CSRF refusals, the review queue, the webhook inbox, charts, and pages that
stay on Sunap's origin, fit a phone and name every control."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright

from tests.browser.conftest import (
    PHONE,
    Visit,
    fits_without_sideways_scroll,
    launched_chromium,
    new_visit,
    shoot,
    unlabeled_controls,
)
from tests.e2e.flows import confirm, create_payment, paid_payment, pay_in_window, toss_calls
from tests.e2e.test_virtual_accounts import deposited, issued_account
from tests.support.service import RunningService

# A host name that is not loopback, which Chromium is told resolves to 127.0.0.1.
HOST_NAME = "sunap.test"


@dataclass(frozen=True)
class Shop:
    admin: str
    reader: str
    paid: dict[str, Any]  # DONE, then 2,500 refunded
    declined: dict[str, Any]  # ABORTED
    flagged: dict[str, Any]  # READY, flagged for review


@pytest.fixture(scope="module")
def shops(service: RunningService, sandbox: httpx.Client) -> dict[str, Shop]:
    made = {}
    for name in ("shop-a", "shop-b"):
        admin = service.create_key(name, "admin")
        reader = service.create_key(name, "payments:read")
        with service.client(admin) as api:
            paid = paid_payment(api, sandbox, 15000)
            refund = api.post(
                f"/v1/payments/{paid['id']}/cancel",
                json={"cancelReason": "한 병 파손", "cancelAmount": 2500},
            )
            assert refund.status_code == 200, refund.text
            declined = create_payment(api, 5000)
            key = pay_in_window(sandbox, declined, failWith="REJECT_CARD_PAYMENT")
            assert confirm(api, declined, key).status_code == 402
            flagged = create_payment(api, 7000, orderName="검토할 주문")
        made[name] = Shop(admin, reader, paid, declined, flagged)
    flag(service, made["shop-a"].flagged["id"])
    return made


def flag(service: RunningService, payment_id: str) -> None:
    """What the reconciler does when Toss disagrees with us, done here directly."""
    with sqlite3.connect(service.workdir / "sunap.db") as db:
        db.execute(
            "UPDATE payments SET needs_review = 1, review_reason = ? WHERE id = ?",
            ("Toss's record names another amount", payment_id),
        )


def sign_in(page: Page, service: RunningService, key: str, path: str = "/dashboard") -> None:
    page.goto(service.base_url + path)
    page.wait_for_url("**/dashboard/sign-in?**")
    page.get_by_label("API 키").fill(key)
    page.get_by_label("API 키").press("Enter")  # the keyboard alone signs in
    page.wait_for_url(service.base_url + path)


def api_for(service: RunningService, key: str) -> httpx.Client:
    return service.client(key)


def payment_of(service: RunningService, key: str, payment_id: str) -> dict[str, Any]:
    with api_for(service, key) as api:
        return dict(api.get(f"/v1/payments/{payment_id}").json())


def cancels_at_toss(sandbox: httpx.Client, payment: dict[str, Any]) -> list[dict[str, Any]]:
    return toss_calls(sandbox, f"/v1/payments/{payment['paymentKey']}/cancel")


def form_fields(page: Page, form: str) -> dict[str, str]:
    return dict(
        page.eval_on_selector(
            form, "f => Object.fromEntries([...new FormData(f)].map(([k, v]) => [k, String(v)]))"
        )
    )


def test_signing_in_shows_the_overview_with_charts_by_hour_and_by_day(
    visit: Visit, service: RunningService, shops: dict[str, Shop]
) -> None:
    page = visit.page
    sign_in(
        page, service, shops["shop-b"].reader
    )  # shop-b's payments stay as the fixture made them
    assert page.locator(".tenant").inner_text() == "shop-b"
    assert page.locator("#kpi-volume").inner_text() == "15,000원"
    for grain in ("hour", "day"):
        for chart in ("volume", "approval", "refund"):
            assert page.locator(f"#chart-{chart}-{grain} svg[role=img]").count() == 1
    assert page.locator("#chart-volume-hour rect.bar").count() == 1
    assert page.locator("#chart-approval-day circle.dot").count() == 1
    assert (
        "50.0%" in page.locator("#chart-approval-day table").text_content() or ""
    )  # 1 of 2 decided
    assert (
        "16.7%" in page.locator("#chart-refund-day table").text_content() or ""
    )  # 2,500 of 15,000
    shoot(page, "dashboard-1-overview")
    assert visit.traffic.origins() == {service.base_url}
    assert visit.problems == []


def test_a_tenant_sees_only_its_own_payments_and_deliveries(
    visit: Visit, service: RunningService, shops: dict[str, Shop]
) -> None:
    a, b = shops["shop-a"], shops["shop-b"]
    page = visit.page
    sign_in(page, service, b.admin, "/dashboard/payments")
    listed = page.locator("#payments").inner_text()
    assert b.paid["orderId"] in listed and a.paid["orderId"] not in listed
    response = page.goto(f"{service.base_url}/dashboard/payments/{a.paid['id']}")
    assert response is not None and response.status == 404
    page.goto(f"{service.base_url}/dashboard/payments?q={a.paid['orderId']}")
    assert page.locator("#payments .empty").is_visible()
    page.goto(f"{service.base_url}/dashboard/webhooks")
    deliveries = page.locator("table.deliveries").inner_text()
    assert a.paid["id"] not in deliveries and b.paid["id"] in deliveries
    page.goto(f"{service.base_url}/dashboard/review")
    assert page.locator("#review-empty").is_visible()  # shop-a's flagged payment is not here


def test_payments_can_be_filtered_searched_and_paged(
    visit: Visit, service: RunningService, shops: dict[str, Shop]
) -> None:
    a = shops["shop-a"]
    with api_for(service, a.admin) as api:
        extra = [create_payment(api, 1000 + i) for i in range(25)]
    page = visit.page
    sign_in(page, service, a.reader, "/dashboard/payments")
    page.get_by_label("상태").select_option("ABORTED")
    page.get_by_role("button", name="적용").click()
    assert page.locator("#payments tbody tr").count() == 1
    assert a.declined["orderId"] in page.locator("#payments").inner_text()
    page.goto(f"{service.base_url}/dashboard/payments")
    page.get_by_label("검색", exact=True).fill(a.paid["paymentKey"])
    page.get_by_role("button", name="적용").click()
    assert page.locator("#payments tbody tr").count() == 1
    shoot(page, "dashboard-2-payments-search")
    page.goto(f"{service.base_url}/dashboard/payments?from=2020-01-01&to=2020-12-31")
    assert page.locator("#payments .empty").is_visible()
    page.goto(f"{service.base_url}/dashboard/payments")
    assert page.locator("#payments tbody tr").count() == 25
    assert extra[-1]["orderId"] in page.locator("#payments").inner_text()  # newest first
    page.get_by_role("link", name="이전 →").click()
    second = page.locator("#payments").inner_text()
    assert a.paid["orderId"] in second and extra[-1]["orderId"] not in second
    shoot(page, "dashboard-3-payments-page-2")


def test_a_partial_cancel_through_the_form_cancels_once_however_often_it_is_sent(
    visit: Visit, service: RunningService, sandbox: httpx.Client, shops: dict[str, Shop]
) -> None:
    with api_for(service, shops["shop-a"].admin) as api:
        paid = paid_payment(api, sandbox, 20000)
    page = visit.page
    sign_in(page, service, shops["shop-a"].admin, f"/dashboard/payments/{paid['id']}")
    assert paid["card"]["company"] == "61"
    assert page.locator("#card").inner_text().startswith("현대카드 ")  # not Toss's code
    shoot(page, "dashboard-4-payment-detail")
    page.get_by_label("취소 금액", exact=True).fill("5000")
    page.get_by_label("사유").fill("사이즈 교환")
    sent = form_fields(page, "#cancel-form")
    page.get_by_role("button", name="취소하기").click()

    page.wait_for_url("**?done=canceled")
    assert page.locator("#notice").inner_text() == "취소했습니다."
    assert page.locator("#balance").inner_text() == "15,000원"
    assert "사이즈 교환" in page.locator("#cancels").inner_text()
    shoot(page, "dashboard-5-after-cancel")
    again = visit.context.request.post(
        f"{service.base_url}/dashboard/payments/{paid['id']}/cancel", form=sent
    )
    assert again.ok  # the same form, sent again: answered, not executed again
    assert payment_of(service, shops["shop-a"].admin, paid["id"])["balanceAmount"] == 15000
    assert len(cancels_at_toss(sandbox, paid)) == 1


def test_a_misplaced_thousands_comma_is_refused_and_a_grouped_amount_is_taken(
    visit: Visit, service: RunningService, sandbox: httpx.Client, shops: dict[str, Shop]
) -> None:
    """ "1,0000" (a mistyped 1,000) used to cancel 10,000: every comma was dropped."""
    admin = shops["shop-a"].admin
    with api_for(service, admin) as api:
        paid = paid_payment(api, sandbox, 20000)
    page = visit.page
    sign_in(page, service, admin, f"/dashboard/payments/{paid['id']}")
    page.get_by_label("취소 금액", exact=True).fill("1,0000")
    page.get_by_label("사유").fill("파손")
    page.get_by_role("button", name="취소하기").click()

    page.wait_for_url("**?failed=INVALID_AMOUNT")
    assert "세 자리마다 쉼표" in page.locator("#problem").inner_text()
    shoot(page, "dashboard-5b-amount-refused")
    assert payment_of(service, admin, paid["id"])["balanceAmount"] == 20000
    assert cancels_at_toss(sandbox, paid) == []

    page.get_by_label("취소 금액", exact=True).fill("10,000")
    page.get_by_label("사유").fill("파손")
    page.get_by_role("button", name="취소하기").click()
    page.wait_for_url("**?done=canceled")
    assert payment_of(service, admin, paid["id"])["balanceAmount"] == 10000


def test_going_back_to_the_cancel_form_or_a_second_tab_never_refunds_a_second_time(
    browser: Browser,
    visit: Visit,
    service: RunningService,
    sandbox: httpx.Client,
    shops: dict[str, Shop],
) -> None:
    """Back re-fetches the page (no-store), a new rendering with a new form key: the browser
    used to fill the last amount and reason back in, and one click refunded again. A tab drawn
    before the cancel is held to the balance it showed."""
    admin = shops["shop-a"].admin
    with api_for(service, admin) as api:
        paid = paid_payment(api, sandbox, 10000)
    path = f"/dashboard/payments/{paid['id']}"
    page = visit.page
    sign_in(page, service, admin, path)
    other = visit.context.new_page()  # a second tab, drawn before the cancel
    other.goto(service.base_url + path)
    page.locator("#cancel-amount").fill("2000")
    page.get_by_label("사유").fill("파손 1병")
    page.get_by_role("button", name="취소하기").click()
    page.wait_for_url("**?done=canceled")

    page.go_back()
    page.wait_for_url(service.base_url + path)
    assert page.locator("#balance").inner_text() == "8,000원"
    assert page.locator("#cancel-amount").input_value() == ""
    assert page.get_by_label("사유").input_value() == ""
    shoot(page, "dashboard-5b-back-to-the-cancel-form")
    page.get_by_role("button", name="취소하기").click()  # the browser asks for the fields
    assert page.url == service.base_url + path

    other.locator("#cancel-amount").fill("2000")
    other.get_by_label("사유").fill("파손 1병")
    other.get_by_role("button", name="취소하기").click()
    other.wait_for_url("**?failed=BALANCE_CHANGED")
    assert "취소 가능 금액이 바뀌었습니다" in other.locator("#problem").inner_text()
    assert "취소하지 않았습니다" in other.locator("#problem").inner_text()
    assert payment_of(service, admin, paid["id"])["balanceAmount"] == 8000
    assert len(cancels_at_toss(sandbox, paid)) == 1


@pytest.mark.parametrize(
    ("bank", "number", "holder"),
    [
        ("88", "1234567890123456789012345", "김토스"),  # 25 digits: 20 of them are someone's
        ("신한", "110-123-456789", "김토스"),  # dashes: the API takes digits only
        ("88", "11012345678901", "김" * 61),  # a holder longer than 60
    ],
)
def test_a_refund_account_the_api_would_refuse_is_refused_whole_and_nothing_is_canceled(
    visit: Visit,
    service: RunningService,
    sandbox: httpx.Client,
    bank: str,
    number: str,
    holder: str,
) -> None:
    admin = service.create_key("shop-va", "admin")
    with api_for(service, admin) as api:
        paid = deposited(api, sandbox, issued_account(api, sandbox))
    page = visit.page
    sign_in(page, service, admin, f"/dashboard/payments/{paid['id']}")
    page.locator("#cancel-amount").fill(str(paid["amount"]))
    page.get_by_label("사유").fill("단순 변심")
    page.get_by_label("은행").fill(bank)
    page.get_by_label("계좌번호").fill(number)
    page.get_by_label("예금주").fill(holder)
    # The browser sends what was typed, whole (no maxlength cuts a paste short).
    assert form_fields(page, "#cancel-form")["refund_account_number"] == number
    page.get_by_role("button", name="취소하기").click()

    page.wait_for_url("**/dashboard/payments/*\\?*")
    assert page.url.endswith("?failed=INVALID_REFUND_ACCOUNT")
    assert "환불 계좌를 확인하세요" in page.locator("#problem").inner_text()
    assert payment_of(service, admin, paid["id"])["status"] == "DONE"
    assert cancels_at_toss(sandbox, paid) == []


def test_a_form_without_the_sessions_csrf_token_is_refused(
    visit: Visit,
    service: RunningService,
    sandbox: httpx.Client,
    shops: dict[str, Shop],
    merchant: str,
) -> None:
    with api_for(service, shops["shop-a"].admin) as api:
        paid = paid_payment(api, sandbox, 9000)
    page = visit.page
    sign_in(page, service, shops["shop-a"].admin, f"/dashboard/payments/{paid['id']}")
    target = f"{service.base_url}/dashboard/payments/{paid['id']}/cancel"
    forged = form_fields(page, "#cancel-form") | {
        "csrf": "forged",
        "cancel_reason": "x",
        "cancel_amount": "1000",
    }
    refused = visit.context.request.post(target, form=forged)
    assert refused.status == 403

    # Another origin of the same site (only the port differs) posts into the dashboard: the
    # cookie comes along, the CSRF token does not.
    page.goto(f"{merchant}/prize?target={target}")
    page.wait_for_url(target)
    assert page.locator("h1").inner_text() == "권한이 없습니다"
    shoot(page, "dashboard-6-forged-form-refused")
    # Another site: SameSite=Strict keeps the session cookie home.
    page.goto(f"{merchant.replace('127.0.0.1', 'localhost')}/prize?target={target}")
    page.wait_for_url("**/dashboard/sign-in?**")
    assert payment_of(service, shops["shop-a"].admin, paid["id"])["balanceAmount"] == 9000
    assert cancels_at_toss(sandbox, paid) == []


def test_a_read_only_key_sees_no_cancel_form_and_cannot_post_one(
    visit: Visit, service: RunningService, shops: dict[str, Shop]
) -> None:
    a = shops["shop-a"]
    page = visit.page
    sign_in(page, service, a.reader, f"/dashboard/payments/{a.paid['id']}")
    assert page.locator("#cancel-form").count() == 0
    assert "payments:cancel" in page.locator("#cancel-hint").inner_text()
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    response = visit.context.request.post(
        f"{service.base_url}/dashboard/payments/{a.paid['id']}/cancel",
        form={"csrf": csrf or "", "form_key": "k1", "cancel_reason": "x", "cancel_amount": "100"},
    )
    assert response.status == 403
    assert payment_of(service, a.admin, a.paid["id"])["balanceAmount"] == 12500


def test_the_session_cookie_is_http_only_strict_and_ends_at_sign_out(
    browser: Browser, visit: Visit, service: RunningService, shops: dict[str, Shop]
) -> None:
    page = visit.page
    sign_in(page, service, shops["shop-a"].reader)
    [cookie] = [c for c in visit.context.cookies() if c["name"] == "sunap_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/dashboard"
    assert not cookie["secure"]  # served over plain http here; Secure over https
    assert "sunap_session" not in page.evaluate("document.cookie")
    page.get_by_role("button", name="로그아웃").click()
    page.wait_for_url("**/dashboard/sign-in?notice=signed_out")
    assert page.locator("#notice").is_visible()
    assert "sunap_session" not in {c["name"] for c in visit.context.cookies()}

    with new_visit(browser, locale="ko-KR") as other:  # the old cookie, replayed elsewhere
        other.context.add_cookies([cookie])
        other.page.goto(f"{service.base_url}/dashboard")
        assert "/dashboard/sign-in" in other.page.url


def test_sign_in_refuses_unknown_keys_keys_that_cannot_read_and_forms_from_elsewhere(
    visit: Visit, service: RunningService
) -> None:
    writer = service.create_key("shop-a", "payments:write")
    page = visit.page
    page.goto(f"{service.base_url}/dashboard/sign-in")
    page.get_by_label("API 키").fill("sk_sunap_made_up")
    page.get_by_role("button", name="로그인").click()
    assert "API 키를 확인하세요" in page.locator("#problem").inner_text()
    page.get_by_label("API 키").fill(writer)
    page.get_by_role("button", name="로그인").click()
    assert "payments:read" in page.locator("#problem").inner_text()
    shoot(page, "dashboard-7-sign-in-refused")
    bare = httpx.post(
        f"{service.base_url}/dashboard/sign-in", data={"api_key": writer, "csrf": "x"}
    )
    assert bare.status_code == 403 and "sunap_session" not in bare.headers.get("set-cookie", "")


def test_a_form_sent_after_the_session_ended_changes_nothing_and_comes_back_to_its_page(
    visit: Visit, service: RunningService, sandbox: httpx.Client, shops: dict[str, Shop]
) -> None:
    """Signing in again used to land on the POST-only address, as the API's JSON 405."""
    admin = shops["shop-a"].admin
    with api_for(service, admin) as api:
        paid = paid_payment(api, sandbox, 6000)
    path = f"/dashboard/payments/{paid['id']}"
    page = visit.page
    sign_in(page, service, admin, path)
    page.locator("#cancel-amount").fill("1000")
    page.get_by_label("사유").fill("파손")
    with sqlite3.connect(service.workdir / "sunap.db") as db:  # idle too long, say
        db.execute("DELETE FROM web_sessions")
    page.get_by_role("button", name="취소하기").click()

    page.wait_for_url("**/dashboard/sign-in?**")
    assert page.url.endswith("notice=session_ended")  # back to the page, not the POST address
    assert "아무것도 변경되지 않았습니다" in page.locator("#notice").inner_text()
    shoot(page, "dashboard-11-session-ended-mid-form")
    page.get_by_label("API 키").fill(admin)
    page.get_by_label("API 키").press("Enter")
    page.wait_for_url(service.base_url + path)
    assert page.locator("#cancel-form").is_visible()
    assert payment_of(service, admin, paid["id"])["balanceAmount"] == 6000
    assert cancels_at_toss(sandbox, paid) == []


@pytest.mark.parametrize(
    ("method", "path", "status", "heading"),
    [
        ("GET", "/dashboard/no-such-page", 404, "찾을 수 없습니다"),
        ("GET", "/dashboard/payments/pay_x/cancel", 405, "양식으로만 여는 주소입니다"),
        ("GET", "/checkout/pay_x/no-such-page", 404, "유효하지 않은 결제 링크입니다"),
        ("POST", "/checkout/pay_x", 405, "유효하지 않은 결제 링크입니다"),
    ],
)
def test_an_address_no_page_answers_under_the_pages_is_a_page_and_the_api_keeps_json(
    service: RunningService, method: str, path: str, status: int, heading: str
) -> None:
    answer = httpx.request(method, service.base_url + path, headers={"Accept-Language": "ko"})
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    assert answer.headers["cache-control"] == "no-store"
    assert heading in answer.text
    api = httpx.request(method, service.base_url + "/v1" + path.split("/", 2)[2])
    assert api.status_code in (404, 405) and api.json()["code"] in (
        "NOT_FOUND",
        "METHOD_NOT_ALLOWED",
    )


def test_a_page_on_another_port_cannot_sign_the_browser_in_to_its_own_tenant(
    visit: Visit, service: RunningService, shops: dict[str, Shop], merchant: str
) -> None:
    """Cookies are not kept apart by port: the other page plants the sign-in form's cookie and
    sends the form with the same token and its own tenant's key. The form is not from our page."""
    page = visit.page
    sign_in(page, service, shops["shop-a"].reader, "/dashboard/payments")
    assert page.locator(".tenant").inner_text() == "shop-a"
    target = f"{service.base_url}/dashboard/sign-in"
    page.goto(f"{merchant}/sign-in-as?target={target}&key={shops['shop-b'].reader}")
    page.wait_for_url(lambda url: url.startswith(service.base_url))
    shoot(page, "dashboard-7b-sign-in-from-another-page")
    assert page.url == target  # the sign-in page again, refusing the form
    page.goto(f"{service.base_url}/dashboard/payments")
    assert page.locator(".tenant").inner_text() == "shop-a"  # still the operator's own


def test_sign_in_works_over_plain_http_on_a_host_name_where_forms_are_judged_by_origin(
    playwright: Playwright, service: RunningService, shops: dict[str, Shop]
) -> None:
    """An operator on an internal host name (http://sunap.test:PORT here): Chromium sends no
    Sec-Fetch-Site to plain http that is not loopback, so the sign-in form is judged by its
    Origin. A `<meta name="referrer" content="no-referrer">` in every page overrode the
    same-origin header and made that Origin `null`, refused: nobody could sign in there."""
    port = urlsplit(service.base_url).port
    host_named = f"http://{HOST_NAME}:{port}"
    with (
        launched_chromium(
            playwright, f"--host-resolver-rules=MAP {HOST_NAME} 127.0.0.1"
        ) as chromium,
        new_visit(chromium, locale="ko-KR") as visit,
    ):
        page = visit.page
        page.goto(f"{host_named}/dashboard/payments")
        page.wait_for_url("**/dashboard/sign-in?**")
        page.get_by_label("API 키").fill(shops["shop-a"].reader)
        with page.expect_request(lambda r: r.method == "POST") as posted:
            page.get_by_label("API 키").press("Enter")
        page.wait_for_load_state()
        shoot(page, "dashboard-7c-sign-in-on-a-host-name")
        headers = posted.value.all_headers()
        assert "sec-fetch-site" not in headers  # the Origin decided
        assert headers.get("origin") == host_named
        assert page.url == f"{host_named}/dashboard/payments"
        assert page.locator(".tenant").inner_text() == "shop-a"
        # Every page's forms name their origin: the policy is the header's, set nowhere else.
        assert page.locator('meta[name="referrer"]').count() == 0


def test_the_review_queue_is_resolved_with_a_note_by_an_admin(
    browser: Browser, service: RunningService, shops: dict[str, Shop]
) -> None:
    a = shops["shop-a"]
    with new_visit(browser, locale="ko-KR") as reader:
        sign_in(reader.page, service, a.reader, "/dashboard/review")
        assert "검토할 주문" in reader.page.locator("main").inner_text()
        assert "admin 권한이 필요합니다" in reader.page.locator("main").inner_text()
    with new_visit(browser, locale="ko-KR") as admin:
        page = admin.page
        sign_in(page, service, a.admin, "/dashboard/review")
        assert page.locator(".badge").first.inner_text() == "1"
        shoot(page, "dashboard-8-review-queue")
        page.get_by_label("처리 내용 메모").fill("토스 상점관리자에서 확인: 금액 정상")
        page.get_by_role("button", name="검토 완료").click()
        page.wait_for_url("**/dashboard/review?done=resolved")
        assert page.locator("#review-empty").is_visible()
        page.goto(f"{service.base_url}/dashboard/payments/{a.flagged['id']}")
        assert "review.resolved" in page.locator("#audit").inner_text()
        assert "금액 정상" in page.locator("#timeline").inner_text()
    assert payment_of(service, a.admin, a.flagged["id"])["needsReview"] is False


def test_the_webhook_inbox_lists_deliveries_and_an_admin_replays_one(
    browser: Browser, service: RunningService, shops: dict[str, Shop]
) -> None:
    a = shops["shop-a"]
    with new_visit(browser, locale="ko-KR") as reader:
        sign_in(reader.page, service, a.reader, "/dashboard/webhooks")
        assert a.paid["id"] in reader.page.locator("table.deliveries").inner_text()
        assert reader.page.get_by_role("button", name="다시 처리").count() == 0
    with new_visit(browser, locale="ko-KR") as admin:
        page = admin.page
        sign_in(page, service, a.admin, "/dashboard/webhooks")
        shoot(page, "dashboard-9-webhooks")
        page.get_by_role("button", name="다시 처리").first.click()
        page.wait_for_url("**/dashboard/webhooks?done=replay_*")
        assert page.locator("#notice").is_visible()


def test_every_page_fits_a_phone_names_its_controls_and_stays_on_sunaps_origin(
    browser: Browser, service: RunningService, shops: dict[str, Shop]
) -> None:
    a = shops["shop-a"]
    paths = {
        "overview": "/dashboard",
        "payments": "/dashboard/payments",
        "payment": f"/dashboard/payments/{a.paid['id']}",
        "review": "/dashboard/review",
        "webhooks": "/dashboard/webhooks",
        "subscriptions": "/dashboard/subscriptions",
    }
    with new_visit(browser, locale="ko-KR", viewport=PHONE, is_mobile=True) as visit:
        page = visit.page
        page.goto(f"{service.base_url}/dashboard/sign-in")
        assert unlabeled_controls(page) == []
        sign_in(page, service, a.admin)
        for name, path in paths.items():
            response = page.goto(service.base_url + path)
            assert response is not None and response.status == 200
            assert "default-src 'none'" in response.headers["content-security-policy"]
            assert fits_without_sideways_scroll(page), name
            assert unlabeled_controls(page) == [], name
            shoot(page, f"dashboard-phone-{name}")
        assert visit.traffic.origins() == {service.base_url}
        assert visit.problems == []


def test_an_english_browser_gets_an_english_dashboard(
    browser: Browser, service: RunningService, shops: dict[str, Shop]
) -> None:
    with new_visit(browser, locale="en-US") as visit:
        page = visit.page
        page.goto(f"{service.base_url}/dashboard/sign-in")
        page.get_by_label("API key").fill(shops["shop-a"].reader)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{service.base_url}/dashboard")
        assert page.locator("h1").inner_text() == "Overview"
        assert page.locator("#kpi-volume").inner_text().startswith("₩")
        assert page.get_by_role("link", name="Needs review").is_visible()
        assert page.get_by_role("link", name="Subscriptions").is_visible()
        shoot(page, "dashboard-10-english")
