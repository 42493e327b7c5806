"""Signing in to the dashboard of a real `sunap serve` whose public URL is https: its cookies are
`__Host-` ones (Secure, Path=/, no Domain), which no page of another port or subdomain can set,
and a sign-in form is taken only from the dashboard's own page. (The browser tests cover plain
http, where the prefix cannot apply, and a page on another port trying to sign a browser in.)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.service import RunningService, running_service


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    workdir = Path(tmp_path_factory.mktemp("https-dashboard"))
    with running_service(workdir, SUNAP_PUBLIC_URL="https://pay.example.test") as svc:
        yield svc


FROM_OUR_PAGE = {"Sec-Fetch-Site": "same-origin"}


def sign_in_form(service: RunningService) -> tuple[str, str]:
    """The sign-in page's token and the cookie it was set with (its name and header)."""
    page = httpx.get(f"{service.base_url}/dashboard/sign-in")
    set_cookie = page.headers["set-cookie"]
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None
    return token.group(1), set_cookie


def post_sign_in(
    service: RunningService,
    cookies: dict[str, str],
    form: dict[str, str],
    headers: dict[str, str] = FROM_OUR_PAGE,
) -> httpx.Response:
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    return httpx.post(
        f"{service.base_url}/dashboard/sign-in", data=form, headers={"Cookie": cookie, **headers}
    )


def test_over_https_the_cookies_are_host_prefixed_and_others_are_ignored(
    service: RunningService,
) -> None:
    key = service.create_key("shop-https", "payments:read")
    token, set_cookie = sign_in_form(service)
    assert set_cookie.startswith(f"__Host-sunap_sign_in={token};")
    assert "Path=/;" in set_cookie and "Secure" in set_cookie and "Domain" not in set_cookie

    form = {"csrf": token, "api_key": key, "next": "/dashboard"}
    planted = post_sign_in(service, {"sunap_sign_in": token}, form)  # no prefix: not ours
    assert planted.status_code == 403
    signed_in = post_sign_in(service, {"__Host-sunap_sign_in": token}, form)
    assert signed_in.status_code == 303, signed_in.text
    session = next(c for c in signed_in.headers.get_list("set-cookie") if "sunap_session" in c)
    assert session.startswith("__Host-sunap_session=")
    assert "Path=/;" in session and "Secure" in session and "HttpOnly" in session
    value = session.split(";")[0].split("=", 1)[1]

    def overview(cookie: str) -> httpx.Response:
        return httpx.get(f"{service.base_url}/dashboard", headers={"Cookie": f"{cookie}={value}"})

    assert overview("__Host-sunap_session").status_code == 200
    assert overview("sunap_session").status_code == 303  # to sign-in: the plain name is not read


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "same-site"},  # another port or subdomain of the same site
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "https://pay.example.test.evil.example"},  # an older browser: no metadata
        # A form posted from any page with Referrer-Policy no-referrer (or a sandboxed frame),
        # to a plain-http host name, which browsers send no Sec-Fetch-Site to.
        {"Origin": "null"},
    ],
    ids=["same-site", "cross-site", "foreign-origin", "null-origin"],
)
def test_a_sign_in_form_sent_from_another_page_is_refused(
    service: RunningService, headers: dict[str, str]
) -> None:
    """Whoever can write our cookies can plant the form's token beside a form that carries it:
    only where the browser says the form came from tells it apart."""
    key = service.create_key("shop-https", "payments:read")
    token, _ = sign_in_form(service)
    form = {"csrf": token, "api_key": key, "next": "/dashboard"}
    answer = post_sign_in(service, {"__Host-sunap_sign_in": token}, form, headers)
    assert answer.status_code == 403
    assert "sunap_session" not in answer.headers.get("set-cookie", "")
    # The page says what is wrong (it used to blame an expired form or cookies that were off).
    if headers.get("Origin") == "null":
        assert "Origin: null" in answer.text and "리퍼러" in answer.text
    else:
        assert "다른 페이지에서 보낸 로그인 양식은 받지 않습니다" in answer.text
    assert "쿠키가 꺼져" not in answer.text
    from_our_page = {"Origin": "https://pay.example.test"}  # no metadata, but our origin
    assert post_sign_in(service, {"__Host-sunap_sign_in": token}, form, from_our_page).is_redirect


@pytest.mark.parametrize("path", ["/dashboard/sign-in", "/dashboard/no-such-page", "/checkout/x"])
def test_the_pages_let_their_own_forms_name_their_origin(
    service: RunningService, path: str
) -> None:
    """A form must carry our Origin where the browser sends no Sec-Fetch-Site: a no-referrer
    page's form sends "null", which another page can send too. The header is the only place
    the policy is set: a `<meta name="referrer">` in the page would override it."""
    page = httpx.get(f"{service.base_url}{path}")
    assert page.headers["referrer-policy"] == "same-origin"
    assert 'name="referrer"' not in page.text
