"""The payment window's return to a real `sunap serve` on a checkout link that expired while the
customer paid: the page itself stays closed to the expired link, the return confirms what Toss
approved and sends the customer on (Sunap's own result page shows the outcome on that link).
And a link's life is the one it was handed out with: opening it never signs a longer one."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from sunap.adapters.crypto.fernet_box import FernetSecretBox
from sunap.application.checkout_links import CheckoutLinks
from tests.e2e.flows import create_payment, pay_in_window, toss_calls
from tests.support.service import TEST_SECRETS_KEY, RunningService, running_service_on


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    with running_service_on("sqlite", Path(tmp_path_factory.mktemp("returns"))) as svc:
        yield svc


def expired_token(payment: dict[str, Any]) -> str:
    """A link the service signed for this payment two hours ago (links live one hour)."""
    return token_signed_ago(payment, timedelta(hours=2))


def token_signed_ago(payment: dict[str, Any], ago: timedelta) -> str:
    key = FernetSecretBox([TEST_SECRETS_KEY.encode()]).derive_key("checkout-links")
    signed = SimpleNamespace(
        id=payment["id"], order_id=payment["orderId"], amount=payment["amount"]
    )
    return CheckoutLinks(key).token(signed, datetime.now(UTC) - ago)  # type: ignore[arg-type]


def expiry_of(token: str) -> int:
    return int(token.split(".")[0])


def tokens_in(url: str) -> list[str]:
    """Every link token a URL carries, in its own query or in URLs nested in it."""
    return re.findall(r"token=([0-9]+\.[A-Za-z0-9_-]+)", html.unescape(url).replace("%2E", "."))


@pytest.mark.parametrize("merchant_url", [True, False], ids=["to-the-merchant", "sunaps-own-page"])
def test_an_approval_returning_on_an_expired_link_is_confirmed_once_and_sent_on(
    service: RunningService, merchant_url: bool
) -> None:
    key = service.create_key("shop-returns", "payments:write", "payments:read")
    fields = {"successUrl": "https://shop.example/paid"} if merchant_url else {}
    with service.client(key) as api, httpx.Client(base_url=service.sandbox_url) as sandbox:
        payment = create_payment(api, 5000, **fields)
        payment_key = pay_in_window(sandbox, payment)
        token = expired_token(payment)
        page = httpx.get(f"{service.base_url}/checkout/{payment['id']}", params={"token": token})
        assert page.status_code == 403  # the page itself is closed to an expired link

        returned = httpx.get(
            f"{service.base_url}/checkout/{payment['id']}/success",
            params={
                "token": token,
                "paymentKey": payment_key,
                "orderId": payment["orderId"],
                "amount": payment["amount"],
            },
        )

        assert returned.status_code == 303, returned.text
        location = returned.headers["location"]
        if merchant_url:
            assert location.startswith("https://shop.example/paid") and "status=DONE" in location
        else:  # Sunap's own result page, on the same (expired) link: it shows the outcome
            assert location.endswith(f"/checkout/{payment['id']}/result?token={token}")
            result = httpx.get(location)
            assert result.status_code == 200 and "결제가 완료되었습니다" in result.text
        assert api.get(f"/v1/payments/{payment['id']}").json()["status"] == "DONE"
        mine = [
            c
            for c in toss_calls(sandbox, "/v1/payments/confirm")
            if payment["id"] in (c["idempotencyKey"] or "")
        ]
        assert len(mine) == 1


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("fail", {"code": "PAY_PROCESS_CANCELED", "message": "gave up"}),
        ("success", {"paymentKey": "made-up-key", "amount": "5000"}),
    ],
    ids=["window-failure", "made-up-approval"],
)
def test_a_return_that_approves_nothing_on_an_expired_link_opens_nothing(
    service: RunningService, path: str, query: dict[str, str]
) -> None:
    """Otherwise anyone holding an expired link renews it: the failure page's "try again" link
    was signed afresh and opened the payment page. (A merchant's failUrl is still told: it hands
    out no link of ours.)"""
    key = service.create_key("shop-returns", "payments:write", "payments:read")
    with service.client(key) as api:
        plain = create_payment(api, 5000)
        told = create_payment(api, 5000, failUrl="https://shop.example/failed")
        for payment in (plain, told):
            returned = httpx.get(
                f"{service.base_url}/checkout/{payment['id']}/{path}",
                params={"token": expired_token(payment), "orderId": payment["orderId"], **query},
            )
            assert api.get(f"/v1/payments/{payment['id']}").json()["status"] == "READY"
            if payment is told:
                assert returned.status_code == 303
                location = returned.headers["location"]
                assert location.startswith("https://shop.example/failed?code=")
                assert "token=" not in location
            else:
                assert returned.status_code == 403, returned.headers.get("location")
                assert "token=" not in returned.text  # no fresh link of any kind


def test_a_flood_of_made_up_returns_reaches_toss_a_bounded_number_of_times(
    service: RunningService,
) -> None:
    """Anyone holding a payment's link could make Sunap call Toss's confirm once per request
    with made-up paymentKeys: a payment's returns are bounded (10 at once, then one every 5 s),
    and one past the bound gets a page that refreshes itself, not a failure."""
    key = service.create_key("shop-flood", "payments:write", "payments:read")
    with service.client(key) as api, httpx.Client(base_url=service.sandbox_url) as sandbox:
        payment = create_payment(api, 5000)
        token = payment["checkout"]["url"].split("token=")[1]
        answers = [
            httpx.get(
                f"{service.base_url}/checkout/{payment['id']}/success",
                params={
                    "token": token,
                    "paymentKey": f"made-up-{i}",
                    "orderId": payment["orderId"],
                    "amount": "5000",
                },
            ).status_code
            for i in range(14)
        ]
        assert answers[:10] == [200] * 10  # Sunap's own failure page, "try again"
        assert answers[10:] == [429] * 4
        sent = toss_calls(sandbox, "/v1/payments/confirm")
        assert len([c for c in sent if payment["id"] in (c["idempotencyKey"] or "")]) == 10
        assert api.get(f"/v1/payments/{payment['id']}").json()["status"] == "READY"


def test_opening_a_link_never_signs_one_that_outlives_it(service: RunningService) -> None:
    """The page's window URLs and the failure page's "try again" carried a freshly signed link
    that itself opened the page: a link opened once per TTL never expired."""
    key = service.create_key("shop-ttl", "payments:write", "payments:read")
    with service.client(key) as api, httpx.Client(base_url=service.sandbox_url) as sandbox:
        payment = create_payment(api, 5000)
        token = token_signed_ago(payment, timedelta(minutes=59))  # a minute left
        page = httpx.get(f"{service.base_url}/checkout/{payment['id']}", params={"token": token})
        assert page.status_code == 200
        window = re.search(r'id="pay" href="([^"]+)"', page.text)
        assert window is not None
        query = parse_qs(urlsplit(html.unescape(window.group(1))).query)
        handed = tokens_in(query["successUrl"][0]) + tokens_in(query["failUrl"][0])
        assert handed and all(expiry_of(t) <= expiry_of(token) for t in handed), handed

        failed = httpx.get(
            f"{service.base_url}/checkout/{payment['id']}/fail",
            params={"token": token, "code": "PAY_PROCESS_CANCELED", "message": "gave up"},
        )
        assert failed.status_code == 200 and 'id="retry"' in failed.text
        retry = tokens_in(failed.text)
        assert retry and all(expiry_of(t) <= expiry_of(token) for t in retry), retry

        payment_key = pay_in_window(sandbox, payment)
        paid = httpx.get(
            f"{service.base_url}/checkout/{payment['id']}/success",
            params={
                "token": token,
                "paymentKey": payment_key,
                "orderId": payment["orderId"],
                "amount": payment["amount"],
            },
        )
        assert paid.status_code == 303
        assert [expiry_of(t) for t in tokens_in(paid.headers["location"])] == [expiry_of(token)]


def failed_with(service: RunningService, payment: dict[str, Any], path: str, **query: str) -> Any:
    """The failUrl's query a return of `payment` (on a live link) was sent to."""
    token = token_signed_ago(payment, timedelta(0))
    language = {"Accept-Language": query.pop("language")} if "language" in query else {}
    returned = httpx.get(
        f"{service.base_url}/checkout/{payment['id']}/{path}",
        params={"token": token, **query},
        headers=language,
    )
    assert returned.status_code == 303, returned.text
    location = returned.headers["location"]
    assert location.startswith("https://shop.example/failed?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


HANGUL = re.compile(r"[\uac00-\ud7a3]")


def test_the_fail_url_tells_the_customer_sunaps_own_refusals_in_korean(
    service: RunningService,
) -> None:
    """Merchants show the failUrl's `message` to the customer, as they show Toss's (Korean) ones:
    Sunap's own refusals said "amount 100 does not match the payment's amount 15000." or "…set
    aside for a person to check." The `code` is unchanged; the window's own words pass as sent."""
    key = service.create_key("shop-words", "payments:write", "payments:read", "payments:cancel")
    with service.client(key) as api, httpx.Client(base_url=service.sandbox_url) as sandbox:

        def payment() -> dict[str, Any]:
            return create_payment(api, 5000, failUrl="https://shop.example/failed")

        tampered = payment()
        real_key = pay_in_window(sandbox, tampered)
        canceled = payment()
        canceled_key = pay_in_window(sandbox, canceled)
        assert api.post(
            f"/v1/payments/{canceled['id']}/cancel", json={"cancelReason": "품절"}
        ).is_success
        answers = {
            "AMOUNT_MISMATCH": failed_with(
                service,
                tampered,
                "success",
                paymentKey=real_key,
                orderId=tampered["orderId"],
                amount="100",
            ),
            "INVALID_PAYMENT_KEY": failed_with(
                service,
                (made_up := payment()),
                "success",
                paymentKey="tpk_made_up",
                orderId=made_up["orderId"],
                amount="5000",
            ),
            "INVALID_REQUEST": failed_with(service, payment(), "success", amount="5000"),
            "NOT_CONFIRMABLE_STATUS": failed_with(
                service,
                canceled,
                "success",
                paymentKey=canceled_key,
                orderId=canceled["orderId"],
                amount="5000",
            ),
            "PAY_PROCESS_ABORTED": failed_with(service, payment(), "fail"),
        }
        for code, query in answers.items():
            assert query["code"] == code
            assert HANGUL.search(query["message"]), (code, query["message"])
            assert not re.search(r"[A-Za-z]{3}", query["message"]), (code, query["message"])
        assert "금액" in answers["AMOUNT_MISMATCH"]["message"]

        window = failed_with(
            service, payment(), "fail", code="REJECT_CARD_COMPANY", message="카드사 거절 (테스트)"
        )
        assert (window["code"], window["message"]) == (
            "REJECT_CARD_COMPANY",
            "카드사 거절 (테스트)",
        )
        english = failed_with(service, payment(), "success", amount="5000", language="en")
        assert english["code"] == "INVALID_REQUEST" and not HANGUL.search(english["message"])
