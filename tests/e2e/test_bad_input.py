"""The attacker's report, replayed against a real `sunap serve` on each database: NUL and other
control characters, repeated keys, numbers out of range, unsafe return URLs and garbage webhook
headers are `400`/`401` with `{code, message}`, change nothing, and never reach the database as
a `500` (PostgreSQL refused a NUL with one)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.flows import create_payment, new_order_id, paid_payment
from tests.support.databases import create_database, drop_database, selected_backends
from tests.support.service import RunningService, running_service

WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"limits-e2e-signing-secret-0001").decode()
TEN_BILLION = 10_000_000_000


@pytest.fixture(scope="module", params=selected_backends())
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningService]:
    workdir = Path(tmp_path_factory.mktemp(f"sunap-bad-input-{request.param}"))
    url = create_database(request.param, workdir)
    try:
        with running_service(
            workdir, SUNAP_DATABASE_URL=url, TOSS_WEBHOOK_SECRET=WEBHOOK_SECRET
        ) as svc:
            yield svc
    finally:
        drop_database(url)


@pytest.fixture(scope="module")
def api(service: RunningService) -> Iterator[httpx.Client]:
    key = service.create_key("shop-bad-input", "payments:read", "payments:write", "payments:cancel")
    with service.client(key) as client:
        yield client


@pytest.fixture()
def unchanged(api: httpx.Client) -> Iterator[None]:
    """The test must leave the tenant's payments as it found them."""
    before = _newest(api)
    yield
    assert _newest(api) == before


def _newest(api: httpx.Client) -> list[dict[str, Any]]:
    """The newest payment as stored: its checkout link is signed afresh for each answer (the
    link's expiry moves with the clock), so it is left out."""
    items = api.get("/v1/payments", params={"limit": 1}).json()["items"]
    return [{k: v for k, v in item.items() if k != "checkout"} for item in items]


def post_raw(api: httpx.Client, path: str, body: bytes, **headers: str) -> httpx.Response:
    return api.post(path, content=body, headers={"Content-Type": "application/json", **headers})


def refused(response: httpx.Response, status: int = 400, code: str = "INVALID_REQUEST") -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message"} and body["code"] == code, body
    return str(body["message"])


def create_body(**fields: Any) -> dict[str, Any]:
    return {"orderName": "생수 외 1건", "amount": 15000, **fields}


# Escapes as a JSON text carries them: json.dumps would write "\u0000" the same way.
CONTROL_BODIES = {
    "nul-in-orderName": b'{"orderName": "a\\u0000b", "amount": 1000}',
    "nul-in-successUrl": b'{"orderName": "a", "amount": 1000, "successUrl": "https://a.example/\\u0000"}',
    "nul-in-customerKey": b'{"orderName": "a", "amount": 1000, "customerKey": "cust\\u0000"}',
    "nul-in-orderId": b'{"orderName": "a", "amount": 1000, "orderId": "order-\\u0000-0001"}',
    "nul-in-a-metadata-value": b'{"orderName": "a", "amount": 1000, "metadata": {"k": "v\\u0000"}}',
    "nul-in-a-metadata-key": b'{"orderName": "a", "amount": 1000, "metadata": {"k\\u0000": "v"}}',
    "escape-in-orderName": b'{"orderName": "a\\u001b[31mred", "amount": 1000}',
    "carriage-return-in-orderName": b'{"orderName": "a\\rb", "amount": 1000}',
    "c1-in-orderName": b'{"orderName": "a\\u0085b", "amount": 1000}',
    "lone-surrogate-in-orderName": b'{"orderName": "\\ud800", "amount": 1000}',
}


@pytest.mark.parametrize("body", CONTROL_BODIES.values(), ids=CONTROL_BODIES.keys())
@pytest.mark.usefixtures("unchanged")
def test_a_control_character_in_any_field_of_a_new_payment_is_a_400_that_creates_nothing(
    api: httpx.Client, body: bytes
) -> None:
    message = refused(post_raw(api, "/v1/payments", body))
    assert "control character" in message or "customerKey" in message or "orderId" in message


def test_nul_in_a_payment_key_or_cancel_reason_is_a_400(api: httpx.Client) -> None:
    payment = create_payment(api)
    confirm = post_raw(
        api,
        "/v1/payments/confirm",
        json.dumps(
            {"paymentKey": "tgen_\x00", "orderId": payment["orderId"], "amount": 15000}
        ).encode(),
    )
    refused(confirm)
    cancel = post_raw(
        api, f"/v1/payments/{payment['id']}/cancel", b'{"cancelReason": "changed\\u0000mind"}'
    )
    refused(cancel)
    assert api.get(f"/v1/payments/{payment['id']}").json()["status"] == "READY"


def test_tab_and_newline_are_free_text_only(api: httpx.Client) -> None:
    created = api.post("/v1/payments", json=create_body(orderName="생수\t2병\n라면 1개"))
    assert created.status_code == 201, created.text
    assert created.json()["orderName"] == "생수\t2병\n라면 1개"
    in_a_key = api.post(
        "/v1/payments/confirm",
        json={"paymentKey": "tgen_a\tb", "orderId": created.json()["orderId"], "amount": 15000},
    )
    assert "paymentKey" in refused(in_a_key)


@pytest.mark.parametrize(
    "path",
    ["/v1/payments/pay_%00abc", "/v1/payments/pay_%1b/transactions", "/v1/payments/%00/cancel"],
)
@pytest.mark.usefixtures("unchanged")
def test_a_control_character_in_a_path_is_a_400(api: httpx.Client, path: str) -> None:
    response = api.post(path, json={"cancelReason": "x"}) if path.endswith("cancel") else None
    refused(response if response is not None else api.get(path))


@pytest.mark.parametrize(
    "query",
    ["orderId=order%00x", "customerKey=%00", "status=DONE%00", "cursor=%00", "orderId=a%09b"],
)
def test_a_control_character_in_a_query_value_is_a_400(api: httpx.Client, query: str) -> None:
    refused(api.get(f"/v1/payments?{query}"))


@pytest.mark.parametrize(
    "cursor",
    [
        ["2026-01-01T00:00:00+00:00", "pay_\x00"],
        ["2026-01-01T00:00:00+00:00", "pay_\ud800"],
        ["0001-01-01T00:00:00+09:00", "pay_x"],
        ["9999-12-31T23:59:59-09:00", "pay_x"],
        ["2026-01-01T00:00:00", "pay_x"],
    ],
    ids=["nul-id", "surrogate-id", "before-year-1-in-utc", "after-year-9999-in-utc", "naive"],
)
def test_a_forged_cursor_is_a_400(api: httpx.Client, cursor: list[str]) -> None:
    raw = json.dumps(cursor).encode()
    token = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert "cursor" in refused(api.get("/v1/payments", params={"cursor": token}))


@pytest.mark.parametrize(
    "body",
    [
        b'{"orderName": "a", "amount": 15000, "amount": 1}',
        b'{"orderName": "a", "orderName": "b", "amount": 15000}',
        b'{"orderName": "a", "amount": 15000, "metadata": {"k": "1", "k": "2"}}',
    ],
    ids=["amount", "orderName", "in-metadata"],
)
@pytest.mark.usefixtures("unchanged")
def test_a_repeated_key_is_a_400_naming_it(api: httpx.Client, body: bytes) -> None:
    assert "appears twice" in refused(post_raw(api, "/v1/payments", body))


@pytest.mark.parametrize(
    "body",
    [b"{nope", b'{"orderName": "a", "amount": NaN}', b"[" * 20_000, b"\xff\xfe\x00"],
    ids=["broken", "nan", "deeply-nested", "not-utf8"],
)
def test_text_that_is_not_json_is_a_400(api: httpx.Client, body: bytes) -> None:
    refused(post_raw(api, "/v1/payments", body))


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain; charset=utf-8"]
)
@pytest.mark.usefixtures("unchanged")
def test_a_json_body_without_its_content_type_is_a_400_naming_the_header(
    api: httpx.Client, content_type: str
) -> None:
    body = json.dumps(create_body()).encode()  # as `curl -d '{…}'` without -H sends it
    message = refused(post_raw(api, "/v1/payments", body, **{"Content-Type": content_type}))
    assert "Content-Type: application/json" in message


def test_amounts_run_from_1_to_ten_billion(api: httpx.Client) -> None:
    assert api.post("/v1/payments", json=create_body(amount=TEN_BILLION)).status_code == 201
    for amount in (TEN_BILLION + 1, 2**63, 2**64, 0, -1):
        refused(api.post("/v1/payments", json=create_body(amount=amount)))


def test_cancel_and_tax_free_amounts_are_bounded_before_any_pg_call(
    api: httpx.Client, sandbox: httpx.Client
) -> None:
    paid = paid_payment(api, sandbox, 15000)
    cancel = f"/v1/payments/{paid['id']}/cancel"
    for body in (
        {"cancelReason": "r", "taxFreeAmount": 2**63},
        {"cancelReason": "r", "taxFreeAmount": TEN_BILLION + 1},
        {"cancelReason": "r", "taxFreeAmount": -1},
        {"cancelReason": "r", "cancelAmount": 2**63},
        {"cancelReason": "r", "cancelAmount": TEN_BILLION + 1},
        {"cancelReason": "r", "cancelAmount": None},  # not "the whole balance": a bug's null
    ):
        field = "taxFreeAmount" if "taxFreeAmount" in body else "cancelAmount"
        assert field in refused(api.post(cancel, json=body))
    assert api.get(f"/v1/payments/{paid['id']}").json()["balanceAmount"] == 15000


@pytest.mark.parametrize("limit", ["0", "101", "-1", "99999999999999999999999", "1e3", "ten"])
def test_a_page_size_outside_1_to_100_is_a_400(api: httpx.Client, limit: str) -> None:
    refused(api.get("/v1/payments", params={"limit": limit}))


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.cookie)",
        "//evil.example/phish",
        "/\\evil.example",
        "/pay/success",
        "data:text/html,<script>alert(1)</script>",
        "ftp://shop.example/ok",
        "https://",
        "https://shop.example/a b",
    ],
)
@pytest.mark.parametrize("field", ["successUrl", "failUrl"])
@pytest.mark.usefixtures("unchanged")
def test_a_return_url_that_is_not_absolute_http_is_a_400(
    api: httpx.Client, url: str, field: str
) -> None:
    assert field in refused(api.post("/v1/payments", json=create_body(**{field: url})))


def test_absolute_http_and_https_return_urls_are_kept(api: httpx.Client) -> None:
    urls = {"successUrl": "https://shop.example/ok?cart=42", "failUrl": "http://shop.example/f"}
    created = api.post("/v1/payments", json=create_body(**urls))
    assert created.status_code == 201, created.text
    assert {k: created.json()["checkout"][k] for k in urls} == urls


# -- webhooks --------------------------------------------------------------------------------


def post_webhook(
    service: RunningService, body: bytes, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.post(
        f"{service.base_url}/v1/webhooks/toss",
        content=body,
        headers={"Content-Type": "application/json", **(headers or {})},
        timeout=30,
    )


WEBHOOK_BODIES = {
    "nul-in-paymentKey": b'{"eventType": "PAYMENT_STATUS_CHANGED", "data": {"paymentKey": "pk\\u0000", "status": "DONE"}}',
    "nul-in-a-deposit-secret": b'{"secret": "s\\u0000", "status": "DONE", "orderId": "order-0001"}',
    "escape-in-orderId": b'{"secret": "s", "status": "DONE", "orderId": "order\\u001b0001"}',
    "repeated-eventType": b'{"eventType": "PAYMENT_STATUS_CHANGED", "eventType": "SOMETHING_NEW", "data": {}}',
    "repeated-status": b'{"eventType": "PAYMENT_STATUS_CHANGED", "data": {"paymentKey": "pk", "status": "DONE", "status": "CANCELED"}}',
    "lone-surrogate": b'{"eventType": "PAYMENT_STATUS_CHANGED", "data": {"paymentKey": "\\udfff", "status": "DONE"}}',
}


@pytest.mark.parametrize("body", WEBHOOK_BODIES.values(), ids=WEBHOOK_BODIES.keys())
def test_a_webhook_the_strict_parser_refuses_is_a_400(service: RunningService, body: bytes):
    refused(post_webhook(service, body))


@pytest.mark.parametrize("timestamp", ["9" * 400, "99999999999999999", "1e9", "-1", "0x10"])
def test_a_garbage_or_huge_webhook_timestamp_is_a_401(
    service: RunningService, timestamp: str
) -> None:
    headers = {
        "webhook-id": "msg_attack",
        "webhook-timestamp": timestamp,
        "webhook-signature": "v1,AAAA",
    }
    response = post_webhook(service, b'{"eventType": "payout.changed"}', headers)
    assert "webhook-timestamp" in refused(response, 401, "INVALID_SIGNATURE")


def test_overlong_webhook_fields_are_never_a_500(service: RunningService) -> None:
    for body in (
        {"eventType": "X" * 5000},
        {
            "eventType": "PAYMENT_STATUS_CHANGED",
            "data": {"paymentKey": "K" * 5000, "status": "DONE"},
        },
        {"secret": "s", "status": "DONE", "orderId": "O" * 5000},
    ):
        first = post_webhook(service, json.dumps(body).encode())
        again = post_webhook(service, json.dumps(body).encode())
        assert first.status_code < 500 and again.status_code == first.status_code, first.text
        if first.status_code == 200:  # stored once, then known as the same delivery
            assert again.json()["duplicate"] is True


# -- the sweep ---------------------------------------------------------------------------------


def test_no_hostile_request_gets_a_5xx(service: RunningService, api: httpx.Client) -> None:
    payment = create_payment(api)
    hostile: list[tuple[str, str, bytes]] = [
        ("GET", "/v1/payments/" + "p" * 8000, b""),
        ("GET", "/v1/payments?orderId=" + "o" * 8000, b""),
        ("GET", "/v1/payments?cursor=" + "%F0%9F%92%A9" * 40, b""),
        ("GET", "/v1/payments?status=%EF%BF%BF", b""),
        ("POST", "/v1/payments/" + "p" * 5000 + "/cancel", b'{"cancelReason": "r"}'),
        ("POST", f"/v1/payments/{payment['id']}/cancel", b'{"cancelReason": ""}'),
        (
            "POST",
            f"/v1/payments/{payment['id']}/cancel",
            b'{"cancelReason": "r", "cancelAmount": 1.5}',
        ),
        ("POST", "/v1/payments", b'{"orderName": "' + ("가" * 5000).encode() + b'", "amount": 1}'),
        ("POST", "/v1/payments", b'{"orderName": "a", "amount": 1, "currency": "\\u0000KR"}'),
        ("POST", "/v1/payments", b'{"orderName": "a", "amount": 1, "method": "CARD\\u0000"}'),
        ("POST", "/v1/payments", b'{"orderName": "a", "amount": 1, "metadata": {"k": ["x"]}}'),
        ("POST", "/v1/payments", b'{"orderName": "a", "amount": 1, "metadata": []}'),
        ("POST", "/v1/payments", b'{"orderName": "a", "amount": 1e400}'),
        ("POST", "/v1/payments", b'{"orderName": "a", "amount": ' + b"9" * 5000 + b"}"),
        ("POST", "/v1/payments", b"null"),
        ("POST", "/v1/payments", b'"\\u0000"'),
        (
            "POST",
            "/v1/payments/confirm",
            b'{"paymentKey": "' + b"k" * 5000 + b'", "orderId": "order-123456", "amount": 1}',
        ),
        ("POST", "/v1/webhooks/toss", b'{"eventType": "PAYMENT_STATUS_CHANGED", "data": []}'),
        ("POST", "/v1/webhooks/toss", b'{"eventType": ["x"]}'),
        ("POST", "/v1/webhooks/toss", b'{"secret": {"a": 1}, "status": "DONE", "orderId": "o"}'),
        ("POST", "/v1/webhooks/toss", b"\xff" * 100),
    ]
    for method, path, body in hostile:
        headers = {"Content-Type": "application/json", "Idempotency-Key": new_order_id()}
        response = api.request(method, path, content=body, headers=headers)
        assert response.status_code < 500, (method, path[:80], body[:80], response.text)
        assert {"code", "message"} <= set(response.json()), response.text
    assert "Traceback" not in service.logs()


# -- the embedded sandbox's payment window ------------------------------------------------------


@pytest.mark.parametrize("url", ["//evil.example/phish", "javascript:alert(1)", "/relative"])
def test_the_sandbox_window_never_redirects_to_an_unsafe_url(
    service: RunningService, url: str
) -> None:
    with httpx.Client(base_url=service.sandbox_url, timeout=30) as window:
        page = window.get(
            "/sandbox/checkout",
            params={"orderId": new_order_id(), "amount": 1000, "successUrl": url, "failUrl": url},
        )
        assert page.status_code == 400 and "location" not in page.headers
        gave_up = window.post(
            "/sandbox/checkout/give-up",
            data={"paymentKey": "tgen_x", "successUrl": url, "failUrl": url},
        )
        assert gave_up.status_code == 400 and "location" not in gave_up.headers
