"""The Payments section of docs/api.md, against a real `sunap serve` with its embedded sandbox."""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine

from sunap.adapters.sql.tables import idempotency_keys
from tests.e2e.flows import (
    confirm,
    create_payment,
    new_order_id,
    paid_payment,
    pay_in_window,
    toss_calls,
)
from tests.support.databases import selected_backends
from tests.support.service import RunningService, running_service_on

DOC_SECRET_KEY = "test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R"


@pytest.fixture(scope="module", params=selected_backends())
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningService]:
    """The whole contract, once per database Sunap runs on."""
    workdir = Path(tmp_path_factory.mktemp(f"sunap-{request.param}"))
    with running_service_on(request.param, workdir) as svc:
        yield svc


def test_a_new_payment_is_ready_with_a_checkout_link(api: httpx.Client) -> None:
    payment = create_payment(api, 15000, customerKey="cust-0001", metadata={"cart": "42"})
    assert payment["status"] == "READY"
    assert payment["amount"] == 15000 and payment["balanceAmount"] == 15000
    assert payment["currency"] == "KRW"
    assert payment["id"].startswith("pay_")
    assert payment["metadata"] == {"cart": "42"}
    assert payment["checkout"]["url"].startswith(
        f"{str(api.base_url).rstrip('/')}/checkout/{payment['id']}?token="
    )


def test_an_order_id_is_minted_when_none_is_given(api: httpx.Client) -> None:
    response = api.post("/v1/payments", json={"orderName": "책", "amount": 1000})
    assert response.status_code == 201
    assert 6 <= len(response.json()["orderId"]) <= 64


def test_a_reused_order_id_is_a_conflict(api: httpx.Client) -> None:
    payment = create_payment(api)
    again = api.post(
        "/v1/payments", json={"orderName": "x", "amount": 10, "orderId": payment["orderId"]}
    )
    assert again.status_code == 409
    assert again.json()["code"] == "DUPLICATE_ORDER_ID"


def test_a_card_payment_is_confirmed_once_and_a_repeat_makes_no_pg_call(
    api: httpx.Client, sandbox: httpx.Client
) -> None:
    payment = create_payment(api, 15000)
    key = pay_in_window(sandbox, payment)
    first = confirm(api, payment, key)
    assert first.status_code == 200, first.text
    done = first.json()
    assert done["status"] == "DONE" and done["method"] == "CARD" and done["paymentKey"] == key
    assert "****" in done["card"]["number"]
    calls_before = len(toss_calls(sandbox, "/v1/payments/confirm"))
    second = confirm(api, payment, key)
    assert second.status_code == 200 and second.json()["status"] == "DONE"
    assert len(toss_calls(sandbox, "/v1/payments/confirm")) == calls_before
    other = confirm(api, payment, "another-payment-key")
    assert other.status_code == 409 and other.json()["code"] == "ALREADY_PROCESSED_PAYMENT"


def test_a_confirm_for_an_unknown_order_is_not_found_without_a_pg_call(
    api: httpx.Client, sandbox: httpx.Client
) -> None:
    before = len(toss_calls(sandbox, "/v1/payments/confirm"))
    response = api.post(
        "/v1/payments/confirm",
        json={"paymentKey": "pk", "orderId": new_order_id(), "amount": 1000},
    )
    assert response.status_code == 404 and response.json()["code"] == "PAYMENT_NOT_FOUND"
    assert len(toss_calls(sandbox, "/v1/payments/confirm")) == before


def test_a_tampered_amount_is_refused_before_the_pg_and_audited(
    api: httpx.Client, sandbox: httpx.Client
) -> None:
    payment = create_payment(api, 15000)
    key = pay_in_window(sandbox, payment)
    before = len(toss_calls(sandbox, "/v1/payments/confirm"))
    response = api.post(
        "/v1/payments/confirm",
        json={"paymentKey": key, "orderId": payment["orderId"], "amount": 100},
    )
    assert response.status_code == 400 and response.json()["code"] == "AMOUNT_MISMATCH"
    assert len(toss_calls(sandbox, "/v1/payments/confirm")) == before
    assert api.get(f"/v1/payments/{payment['id']}").json()["status"] == "READY"
    trail = api.get(f"/v1/payments/{payment['id']}/transactions").json()["items"]
    assert any(item["type"] == "confirm.amount_mismatch" for item in trail)


def test_a_card_refusal_aborts_the_payment_with_the_pg_code(
    api: httpx.Client, sandbox: httpx.Client
) -> None:
    payment = create_payment(api, 15000)
    key = pay_in_window(sandbox, payment, failWith="REJECT_CARD_PAYMENT")
    response = confirm(api, payment, key)
    assert response.status_code == 402, response.text
    body = response.json()
    assert body["code"] == "PG_REJECTED" and body["pgCode"] == "REJECT_CARD_PAYMENT"
    assert body["payment"]["status"] == "ABORTED"
    assert body["payment"]["failure"]["code"] == "REJECT_CARD_PAYMENT"


def test_concurrent_confirms_make_exactly_one_pg_call(
    api: httpx.Client, sandbox: httpx.Client, service: RunningService, merchant_key: str
) -> None:
    payment = create_payment(api, 20000)
    key = pay_in_window(sandbox, payment)

    def attempt(_: int) -> tuple[int, str]:
        with service.client(merchant_key) as client:
            response = confirm(client, payment, key)
            body = response.json()
            return response.status_code, body.get("status") or body.get("code")

    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(attempt, range(10)))
    assert set(outcomes) <= {(200, "DONE"), (409, "CONFIRM_IN_PROGRESS")}, outcomes
    assert (200, "DONE") in outcomes
    confirms = [
        c
        for c in toss_calls(sandbox, "/v1/payments/confirm")
        if c["idempotencyKey"] and payment["id"] in c["idempotencyKey"]
    ]
    assert len(confirms) == 1


def test_partial_then_full_cancel_tracks_the_balance(
    api: httpx.Client, sandbox: httpx.Client
) -> None:
    payment = paid_payment(api, sandbox, 15000)
    partial = api.post(
        f"/v1/payments/{payment['id']}/cancel",
        json={"cancelReason": "one item", "cancelAmount": 5000},
    )
    assert partial.status_code == 200, partial.text
    assert partial.json()["status"] == "PARTIAL_CANCELED"
    assert partial.json()["balanceAmount"] == 10000
    too_much = api.post(
        f"/v1/payments/{payment['id']}/cancel", json={"cancelReason": "x", "cancelAmount": 10001}
    )
    assert too_much.status_code == 422 and too_much.json()["code"] == "EXCEEDS_BALANCE"
    rest = api.post(f"/v1/payments/{payment['id']}/cancel", json={"cancelReason": "all of it"})
    assert rest.status_code == 200, rest.text
    final = rest.json()
    assert final["status"] == "CANCELED" and final["balanceAmount"] == 0
    assert [c["cancelAmount"] for c in final["cancels"]] == [5000, 10000]
    assert all(c["transactionKey"] for c in final["cancels"])
    toss = sandbox.get(f"/v1/payments/{payment['paymentKey']}", auth=(DOC_SECRET_KEY, ""))
    assert toss.json()["balanceAmount"] == 0


def test_a_tax_free_part_larger_than_the_cancel_is_refused_and_holds_nothing(
    api: httpx.Client, sandbox: httpx.Client
) -> None:
    """Toss refuses such a cancel as INVALID_REQUEST; sent, it left the amount held as a cancel
    in doubt that every retry sent again, and the rest of the balance could not be refunded."""
    payment = paid_payment(api, sandbox, 5000)
    payment_id = payment["id"]
    before = len(toss_calls(sandbox, "/cancel"))
    for body in (
        {"cancelReason": "r", "cancelAmount": 100, "taxFreeAmount": 200},
        {"cancelReason": "r", "taxFreeAmount": 5001},
    ):
        refused = api.post(f"/v1/payments/{payment_id}/cancel", json=body)
        assert refused.status_code == 400, refused.text
        assert refused.json()["code"] == "INVALID_REQUEST"
        assert "taxFreeAmount" in refused.json()["message"]
    assert len(toss_calls(sandbox, "/cancel")) == before
    after = api.get(f"/v1/payments/{payment_id}").json()
    assert (after["status"], after["balanceAmount"], after["pendingCancelAmount"]) == (
        "DONE",
        5000,
        0,
    )
    whole = api.post(f"/v1/payments/{payment_id}/cancel", json={"cancelReason": "all of it"})
    assert whole.status_code == 200 and whole.json()["status"] == "CANCELED", whole.text


def test_a_ready_payment_is_canceled_locally(api: httpx.Client, sandbox: httpx.Client) -> None:
    payment = create_payment(api)
    before = len(toss_calls(sandbox, "/cancel"))
    response = api.post(
        f"/v1/payments/{payment['id']}/cancel", json={"cancelReason": "changed mind"}
    )
    assert response.status_code == 200 and response.json()["status"] == "CANCELED"
    assert len(toss_calls(sandbox, "/cancel")) == before
    again = api.post(f"/v1/payments/{payment['id']}/cancel", json={"cancelReason": "again"})
    assert again.status_code == 409 and again.json()["code"] == "NOT_CANCELABLE_STATUS"


def test_payments_are_listed_newest_first_in_cursor_pages(api: httpx.Client) -> None:
    customer = f"cust-{new_order_id()}"
    ids = [create_payment(api, 1000 + i, customerKey=customer)["id"] for i in range(5)]
    first = api.get("/v1/payments", params={"customerKey": customer, "limit": 2}).json()
    assert [p["id"] for p in first["items"]] == ids[::-1][:2]
    second = api.get(
        "/v1/payments", params={"customerKey": customer, "limit": 2, "cursor": first["nextCursor"]}
    ).json()
    assert [p["id"] for p in second["items"]] == ids[::-1][2:4]
    third = api.get(
        "/v1/payments", params={"customerKey": customer, "limit": 2, "cursor": second["nextCursor"]}
    ).json()
    assert [p["id"] for p in third["items"]] == ids[:1] and third["nextCursor"] is None


def test_the_audit_trail_shows_every_pg_call_without_secrets(
    api: httpx.Client, sandbox: httpx.Client
) -> None:
    payment = paid_payment(api, sandbox, 12000)
    api.post(
        f"/v1/payments/{payment['id']}/cancel", json={"cancelReason": "r", "cancelAmount": 2000}
    )
    trail = api.get(f"/v1/payments/{payment['id']}/transactions").json()["items"]
    types = [item["type"] for item in trail]
    assert types[0] == "payment.created"
    assert "pg.confirm" in types and "pg.cancel" in types
    pg_confirm = next(item for item in trail if item["type"] == "pg.confirm")
    assert pg_confirm["processingTimeMs"] is not None
    assert "Authorization" not in str(trail) and "test_sk_" not in str(trail)


def test_another_tenant_sees_nothing(
    api: httpx.Client, sandbox: httpx.Client, service: RunningService
) -> None:
    payment = paid_payment(api, sandbox)
    other_key = service.create_key("shop-b", "payments:read", "payments:write", "payments:cancel")
    with service.client(other_key) as other:
        missing = other.get("/v1/payments/pay_doesnotexist")
        theirs = other.get(f"/v1/payments/{payment['id']}")
        assert theirs.status_code == 404 and theirs.json() == missing.json()
        assert (
            other.get("/v1/payments", params={"orderId": payment["orderId"]}).json()["items"] == []
        )
        cancel = other.post(f"/v1/payments/{payment['id']}/cancel", json={"cancelReason": "x"})
        assert cancel.status_code == 404 and cancel.json() == missing.json()
        confirm_other = other.post(
            "/v1/payments/confirm",
            json={
                "paymentKey": payment["paymentKey"],
                "orderId": payment["orderId"],
                "amount": payment["amount"],
            },
        )
        assert confirm_other.status_code == 404 and confirm_other.json() == missing.json()
    # A's payment is as it was: nothing B sent reached it.
    after = api.get(f"/v1/payments/{payment['id']}").json()
    assert (after["status"], after["balanceAmount"]) == ("DONE", payment["amount"])
    assert after["cancels"] == []


def test_keys_are_required_and_scopes_enforced(service: RunningService) -> None:
    read_only = service.create_key("shop-c", "payments:read")
    with service.client() as anonymous:
        assert anonymous.get("/v1/payments").status_code == 401
    with service.client("sk_sunap_not_a_key") as stranger:
        assert stranger.get("/v1/payments").json()["code"] == "UNAUTHORIZED"
    with service.client(read_only) as reader:
        assert reader.get("/v1/payments").status_code == 200
        denied = reader.post("/v1/payments", json={"orderName": "x", "amount": 1000})
        assert denied.status_code == 403 and denied.json()["code"] == "FORBIDDEN"


def test_bad_input_is_refused_with_a_clear_error(api: httpx.Client) -> None:
    for amount in (15000.0, "15000", True, 0, -1, 1e4, 2**63):
        response = api.post("/v1/payments", json={"orderName": "x", "amount": amount})
        assert response.status_code == 400, (amount, response.text)
        assert response.json()["code"] == "INVALID_REQUEST"
    unknown_field = api.post(
        "/v1/payments", json={"orderName": "x", "amount": 1000, "status": "DONE"}
    )
    assert unknown_field.status_code == 400 and "status" in unknown_field.json()["message"]
    for field, value in (("balanceAmount", 1), ("tenantId", "ten_other"), ("paymentKey", "pk")):
        sneaked = api.post("/v1/payments", json={"orderName": "x", "amount": 1000, field: value})
        assert sneaked.status_code == 400 and field in sneaked.json()["message"], field
    confirm_extra = api.post(
        "/v1/payments/confirm",
        json={"paymentKey": "pk", "orderId": new_order_id(), "amount": 1000, "status": "DONE"},
    )
    assert confirm_extra.status_code == 400 and "status" in confirm_extra.json()["message"]
    cancel_extra = api.post(
        "/v1/payments/pay_x/cancel", json={"cancelReason": "x", "balanceAmount": 0}
    )
    assert cancel_extra.status_code == 400 and "balanceAmount" in cancel_extra.json()["message"]
    not_json = api.post(
        "/v1/payments", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 400 and not_json.json()["code"] == "INVALID_REQUEST"
    bad_order = api.post("/v1/payments", json={"orderName": "x", "amount": 1000, "orderId": "a b"})
    assert bad_order.status_code == 400
    route = api.get("/v1/nowhere")
    assert route.status_code == 404 and set(route.json()) == {"code", "message"}
    wrong_method = api.delete("/v1/payments")
    assert wrong_method.status_code == 405 and wrong_method.json()["code"] == "METHOD_NOT_ALLOWED"
    assert set(wrong_method.headers["allow"].split(", ")) == {"GET", "POST"}
    # A trailing slash is another path, answered as one: not an empty 307 to follow.
    slash = api.get("/v1/payments/")
    assert slash.status_code == 404 and set(slash.json()) == {"code", "message"}


def test_an_idempotent_create_is_replayed_byte_for_byte(api: httpx.Client) -> None:
    body = {"orderName": "x", "amount": 1000, "orderId": new_order_id()}
    first = api.post(
        "/v1/payments", json=body, headers={"Idempotency-Key": "create-1-" + body["orderId"]}
    )
    second = api.post(
        "/v1/payments", json=body, headers={"Idempotency-Key": "create-1-" + body["orderId"]}
    )
    assert first.status_code == second.status_code == 201
    assert first.content == second.content
    assert second.headers["Idempotent-Replayed"] == "true"
    changed = api.post(
        "/v1/payments",
        json={**body, "amount": 2000},
        headers={"Idempotency-Key": "create-1-" + body["orderId"]},
    )
    assert changed.status_code == 422 and changed.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    too_long = api.post("/v1/payments", json=body, headers={"Idempotency-Key": "k" * 301})
    assert too_long.status_code == 400


def test_a_malformed_idempotency_key_is_refused_and_creates_nothing(api: httpx.Client) -> None:
    for key in (b"k" * 301, "키-한글".encode()):  # too long; not printable ASCII
        order_id = new_order_id()
        body = {"orderName": "x", "amount": 1000, "orderId": order_id}
        refused = api.post("/v1/payments", json=body, headers={b"Idempotency-Key": key})
        assert refused.status_code == 400 and refused.json()["code"] == "INVALID_REQUEST"
        assert api.get("/v1/payments", params={"orderId": order_id}).json()["items"] == []


def test_a_request_refused_before_it_ran_may_be_sent_again_with_its_key(
    api: httpx.Client, service: RunningService
) -> None:
    """Bad JSON, or no API key: nothing ran, so nothing is kept for the key, and the request
    sent again properly runs (it is not a replay of the refusal)."""
    body = {"orderName": "x", "amount": 1000, "orderId": new_order_id()}
    key = {"Idempotency-Key": "retry-after-refusal-" + body["orderId"]}
    broken = api.post(
        "/v1/payments",
        content=b'{"orderName": ',
        headers={**key, "Content-Type": "application/json"},
    )
    assert broken.status_code == 400
    with service.client() as anonymous:
        assert anonymous.post("/v1/payments", json=body, headers=key).status_code == 401
    created = api.post("/v1/payments", json=body, headers=key)
    assert created.status_code == 201, created.text
    assert "Idempotent-Replayed" not in created.headers


def test_a_confirm_key_reused_with_another_amount_is_refused_and_the_first_answer_stays(
    api: httpx.Client, sandbox: httpx.Client
) -> None:
    payment = create_payment(api, 15000)
    payment_key = pay_in_window(sandbox, payment)
    key = {"Idempotency-Key": "confirm-" + payment["orderId"]}
    first = confirm(api, payment, payment_key, **key)
    assert first.status_code == 200, first.text
    sent = len(toss_calls(sandbox, "/v1/payments/confirm"))

    changed = confirm(api, {**payment, "amount": 16000}, payment_key, **key)

    assert changed.status_code == 422 and changed.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    replay = confirm(api, payment, payment_key, **key)
    assert replay.content == first.content and replay.headers["Idempotent-Replayed"] == "true"
    assert len(toss_calls(sandbox, "/v1/payments/confirm")) == sent  # no call to Toss since


def test_a_confirm_key_older_than_its_retention_runs_again_and_finds_the_payment_done(
    api: httpx.Client, sandbox: httpx.Client, service: RunningService
) -> None:
    """Keys are kept 24 hours. After that the same key runs again, and the confirm's own rule
    (already DONE with this paymentKey) answers it: DONE, and no second call to Toss."""
    payment = create_payment(api, 15000)
    payment_key = pay_in_window(sandbox, payment)
    key = "confirm-aged-" + payment["orderId"]
    first = confirm(api, payment, payment_key, **{"Idempotency-Key": key})
    assert first.status_code == 200, first.text
    sent = len(toss_calls(sandbox, "/v1/payments/confirm"))
    asyncio.run(_age_key(service.env["SUNAP_DATABASE_URL"], key, timedelta(hours=25)))

    again = confirm(api, payment, payment_key, **{"Idempotency-Key": key})

    assert again.status_code == 200 and "Idempotent-Replayed" not in again.headers
    assert again.json()["status"] == "DONE" and again.json()["id"] == payment["id"]
    assert len(toss_calls(sandbox, "/v1/payments/confirm")) == sent


async def _age_key(url: str, key: str, age: timedelta) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as db:
            aged = await db.execute(
                update(idempotency_keys)
                .where(idempotency_keys.c.idempotency_key == key)
                .values(created_at=datetime.now(UTC) - age)
            )
            assert aged.rowcount == 1
    finally:
        await engine.dispose()


def test_an_already_processed_answer_to_our_own_confirm_is_looked_up_and_adopted(
    api: httpx.Client, sandbox: httpx.Client
) -> None:
    """Confirm rule 7 (docs/api.md): Toss applied the confirm but answered
    ALREADY_PROCESSED_PAYMENT (an earlier attempt went through): Sunap looks the payment up
    and adopts DONE, once."""
    payment = create_payment(api, 15000)
    payment_key = pay_in_window(sandbox, payment)
    fault = {
        "path": "/v1/payments/confirm",
        "code": "ALREADY_PROCESSED_PAYMENT",
        "afterApply": True,
    }
    assert sandbox.post("/sandbox/faults", json=fault).status_code in (200, 201)
    sent = len(toss_calls(sandbox, "/v1/payments/confirm"))

    done = confirm(api, payment, payment_key)

    assert done.status_code == 200, done.text
    assert done.json()["status"] == "DONE" and done.json()["paymentKey"] == payment_key
    assert len(toss_calls(sandbox, "/v1/payments/confirm")) == sent + 1
    assert len(toss_calls(sandbox, f"/v1/payments/{payment_key}")) == 1  # the look-up
    trail = api.get(f"/v1/payments/{payment['id']}/transactions").json()["items"]
    calls = [(t["type"], t["status"]) for t in trail if t["type"].startswith("pg.")]
    assert calls[0][0] == "pg.confirm" and calls[0][1] != "ok"
    assert calls[1:] == [("pg.lookup", "ok")]
    assert api.get(f"/v1/payments/{payment['id']}").json()["status"] == "DONE"


def test_health_readiness_metrics_and_openapi(service: RunningService) -> None:
    with service.client() as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/readyz").status_code == 200
        assert "sunap_outbox_unpublished" in client.get("/metrics").text
        paths = client.get("/openapi.json").json()["paths"]
        assert {"/v1/payments", "/v1/payments/confirm", "/v1/payments/{payment_id}/cancel"} <= set(
            paths
        )


def test_no_secret_reaches_the_logs_or_the_answers(
    api: httpx.Client, sandbox: httpx.Client, service: RunningService, merchant_key: str
) -> None:
    paid = paid_payment(api, sandbox, 15000)
    api.post(f"/v1/payments/{paid['id']}/cancel", json={"cancelReason": "r", "cancelAmount": 1000})
    account = create_payment(api, 20000)
    account_key = pay_in_window(sandbox, account, method="VIRTUAL_ACCOUNT")
    waiting = confirm(api, account, account_key)
    assert waiting.status_code == 200, waiting.text
    secret = sandbox.get(f"/v1/payments/{account_key}", auth=(DOC_SECRET_KEY, "")).json()["secret"]
    answers = waiting.text + api.get(f"/v1/payments/{paid['id']}/transactions").text
    answers += api.get(f"/v1/payments/{account['id']}/transactions").text
    assert secret and secret not in answers and secret not in service.logs()
    logs = service.logs()
    assert merchant_key not in logs and merchant_key[10:] not in answers
    assert "test_sk_sunap_" not in logs + answers
    assert "Authorization" not in logs and "Basic " not in logs
    # No standalone PAN-like run of 13–19 digits (ids and `X…` VA account numbers are not cards).
    assert not re.search(r"(?<![0-9A-Za-z])[0-9]{13,19}(?![0-9A-Za-z])", logs + answers)
