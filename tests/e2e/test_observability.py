"""What an operator sees of a real `sunap serve`: /metrics read before and after approvals,
refusals, cancels and webhooks of every result, with the exact increments; X-Request-Id on every
answer; JSON log lines that say which request and payment they are about and hold no secret;
Toss's trace id in the audit trail; /readyz naming what it checked."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.flows import confirm, create_payment, paid_payment, pay_in_window, wait_for
from tests.support.metrics import Scrape, increase, scrape
from tests.support.service import RunningService, running_service

PAYMENTS = "sunap_payments_total"
AMOUNT = "sunap_payment_amount_total"
TOSS = "sunap_toss_requests_total"
WEBHOOKS = "sunap_webhook_deliveries_total"
HTTP = "sunap_http_requests_total"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    workdir = Path(tmp_path_factory.mktemp("observed"))
    with running_service(workdir, SUNAP_LOG_FORMAT="json") as svc:
        yield svc


@pytest.fixture(scope="module")
def merchant_key(service: RunningService) -> str:
    return service.create_key("shop-obs", "payments:read", "payments:write", "payments:cancel")


@pytest.fixture()
def api(service: RunningService, merchant_key: str) -> Iterator[httpx.Client]:
    with service.client(merchant_key) as client:
        yield client


@pytest.fixture()
def sandbox(service: RunningService) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.sandbox_url, timeout=30) as client:
        yield client


def log_lines(service: RunningService) -> list[dict[str, Any]]:
    """The service's output, every line of it one JSON object (the start banner too)."""
    return [json.loads(line) for line in service.logs().splitlines() if line.strip()]


def payments_increase(before: Scrape, after: Scrape) -> dict[str, tuple[float, float]]:
    """event → (count, amount) added between two scrapes, for the events that moved."""
    events = after.label_values(PAYMENTS, "event")
    moved = {
        event: (
            increase(before, after, PAYMENTS, event=event),
            increase(before, after, AMOUNT, event=event),
        )
        for event in events
    }
    return {event: change for event, change in moved.items() if change != (0.0, 0.0)}


def test_every_payment_event_series_is_there_from_the_start_at_zero(
    service: RunningService,
) -> None:
    first = scrape(service.base_url)
    assert first.label_values(PAYMENTS, "event") >= {
        "created",
        "approved",
        "refused",
        "canceled",
        "partially_canceled",
        "expired",
    }
    for family in (
        "sunap_toss_circuit_open",
        "sunap_outbox_unpublished",
        "sunap_outbox_oldest_unpublished_age_seconds",
        "sunap_payments_needing_review",
    ):
        assert first.has(family), family
    assert first.value("sunap_toss_circuit_open") == 0
    # Counters an alert reads with increase() have their series at 0 from the start: the first
    # escalation after a restart raises the alert (increase() needs a sample before it).
    zero_from_the_start = {
        "sunap_reconcile_outcomes_total": (
            "outcome",
            {"settled", "retry_later", "escalated", "skipped"},
        ),
        "sunap_worker_errors_total": ("worker", {"reconciler", "scheduler", "relay"}),
        "sunap_worker_database_unavailable_total": ("worker", {"reconciler", "relay", "expiry"}),
        "sunap_subscription_charges_total": ("outcome", {"approved", "refused", "unknown"}),
        "sunap_orders_consumed_total": ("outcome", {"created", "duplicate", "rejected"}),
    }
    for family, (label, values) in zero_from_the_start.items():
        assert first.label_values(family, label) >= values, family
    for family in (
        "sunap_payments_outcome_unknown",
        "sunap_payments_cancel_pending",
        "sunap_payments_in_doubt_oldest_age_seconds",
    ):
        assert first.value(family) == 0, family
    # No `_created` gauge (a Unix time) beside a counter, where it reads like a count.
    text = httpx.get(f"{service.base_url}/metrics", timeout=30).text
    assert "sunap_payments_created" not in text and "_created{" not in text


def test_an_approval_is_counted_once_with_its_amount_and_one_toss_confirm(
    service: RunningService, api: httpx.Client, sandbox: httpx.Client
) -> None:
    before = scrape(service.base_url)
    payment = create_payment(api, 15000)
    key = pay_in_window(sandbox, payment)
    assert confirm(api, payment, key).status_code == 200
    # A second confirm of the same payment answers the same and approves nothing more.
    assert confirm(api, payment, key).status_code == 200
    after = scrape(service.base_url)

    assert payments_increase(before, after) == {
        "created": (1, 15000),
        "approved": (1, 15000),
    }
    assert increase(before, after, TOSS, operation="confirm", outcome="ok") == 1
    assert (
        increase(before, after, "sunap_toss_request_duration_seconds_count", operation="confirm")
        == 1
    )
    assert increase(before, after, HTTP, route="/v1/payments", method="POST", status="201") == 1
    assert (
        increase(before, after, HTTP, route="/v1/payments/confirm", method="POST", status="200")
        == 2
    )


def test_a_refusal_is_counted_as_refused_and_as_a_declined_toss_call(
    service: RunningService, api: httpx.Client, sandbox: httpx.Client
) -> None:
    before = scrape(service.base_url)
    payment = create_payment(api, 7000)
    key = pay_in_window(sandbox, payment, failWith="REJECT_CARD_PAYMENT")
    response = confirm(api, payment, key)
    assert response.status_code >= 400, response.text
    after = scrape(service.base_url)

    assert payments_increase(before, after) == {"created": (1, 7000), "refused": (1, 7000)}
    assert increase(before, after, TOSS, operation="confirm", outcome="declined") == 1
    assert increase(before, after, TOSS, operation="confirm", outcome="ok") == 0
    status = str(response.status_code)
    assert (
        increase(before, after, HTTP, route="/v1/payments/confirm", method="POST", status=status)
        == 1
    )


def test_cancels_count_what_they_gave_back(
    service: RunningService, api: httpx.Client, sandbox: httpx.Client
) -> None:
    payment = paid_payment(api, sandbox, 20000)
    before = scrape(service.base_url)
    partial = api.post(
        f"/v1/payments/{payment['id']}/cancel",
        json={"cancelReason": "한 개 반품", "cancelAmount": 4000},
    )
    assert partial.status_code == 200, partial.text
    rest = api.post(f"/v1/payments/{payment['id']}/cancel", json={"cancelReason": "나머지 반품"})
    assert rest.status_code == 200 and rest.json()["status"] == "CANCELED", rest.text
    unpaid = create_payment(api, 9000)  # canceled before it was paid: nothing goes back
    dropped = api.post(f"/v1/payments/{unpaid['id']}/cancel", json={"cancelReason": "주문 취소"})
    assert dropped.status_code == 200, dropped.text
    after = scrape(service.base_url)

    assert payments_increase(before, after) == {
        "partially_canceled": (1, 4000),
        "canceled": (2, 16000),
        "created": (1, 9000),
    }
    assert increase(before, after, TOSS, operation="cancel", outcome="ok") == 2
    assert (
        increase(
            before,
            after,
            HTTP,
            route="/v1/payments/{payment_id}/cancel",
            method="POST",
            status="200",
        )
        == 3
    )


def post_webhook(service: RunningService, body: dict[str, Any] | bytes) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(
        f"{service.base_url}/v1/webhooks/toss",
        content=content,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )


def status_changed(payment_key: str, order_id: str, status: str, **data: Any) -> dict[str, Any]:
    return {
        "eventType": "PAYMENT_STATUS_CHANGED",
        "createdAt": "2026-01-15T09:00:00.000000",
        "data": {"paymentKey": payment_key, "orderId": order_id, "status": status, **data},
    }


def webhooks_settled(service: RunningService, sandbox: httpx.Client) -> bool:
    """Every delivery the sandbox made is counted: each one it got a 200 for was either a
    duplicate (counted at the door) or stored and then processed (counted when settled)."""
    deliveries = sandbox.get("/sandbox/webhooks").json()["items"]
    if any(d["state"] == "SENDING" for d in deliveries):
        return False
    answered = sum(1 for d in deliveries for a in d["attempts"] if a["status"] == 200)
    counted = scrape(service.base_url)
    total = sum(value for (name, _), value in counted.samples.items() if name == WEBHOOKS)
    return total == answered


def test_webhooks_are_counted_by_type_and_result(
    service: RunningService, api: httpx.Client, sandbox: httpx.Client
) -> None:
    paid = paid_payment(api, sandbox, 12000)
    waiting = create_payment(api, 21000)
    key = pay_in_window(sandbox, waiting, method="VIRTUAL_ACCOUNT")
    assert confirm(api, waiting, key).status_code == 200
    # The sandbox sends webhooks of its own for these; they are counted before we start.
    assert wait_for(lambda: webhooks_settled(service, sandbox), timeout=30)
    before = scrape(service.base_url)

    unknown = status_changed("tnhig20260115090000obsrv", "order-nobody-knows", "DONE")
    assert post_webhook(service, unknown).json()["duplicate"] is False
    assert post_webhook(service, unknown).json()["duplicate"] is True
    known = status_changed(
        paid["paymentKey"], paid["orderId"], "DONE", lastTransactionKey="obs-applied"
    )
    assert post_webhook(service, known).status_code == 200
    payout = {
        "eventType": "PAYOUT_STATUS_CHANGED",
        "createdAt": "2026-01-15T09:00:00.000000",
        "data": {"payoutId": "obs-payout-1", "status": "COMPLETED"},
    }
    assert post_webhook(service, payout).status_code == 200
    forged_deposit = {
        "createdAt": "2026-01-15T09:00:00.000000",
        "secret": "ps_obs_not_the_secret",
        "status": "DONE",
        "transactionKey": "9FF15E1A29D0E77C218F57262BFA4986",
        "orderId": waiting["orderId"],
    }
    assert post_webhook(service, forged_deposit).status_code == 401
    assert post_webhook(service, b"{not json").status_code == 400

    expected = {
        ("PAYMENT_STATUS_CHANGED", "unmatched"): 1,
        ("PAYMENT_STATUS_CHANGED", "duplicate"): 1,
        ("PAYMENT_STATUS_CHANGED", "applied"): 1,
        ("PAYOUT_STATUS_CHANGED", "ignored"): 1,
        ("DEPOSIT_CALLBACK", "rejected"): 1,
        ("other", "rejected"): 1,
    }

    def moved() -> dict[tuple[str, str], float]:
        after = scrape(service.base_url)
        changes = {
            (dict(labels)["type"], dict(labels)["result"]): value
            - before.samples.get((name, labels), 0.0)
            for (name, labels), value in after.samples.items()
            if name == WEBHOOKS
        }
        return {k: v for k, v in changes.items() if v}

    assert wait_for(lambda: moved() == expected), sorted(moved().items())
    assert "ps_obs_not_the_secret" not in service.logs()


def test_every_answer_carries_the_callers_request_id_or_a_new_one(
    service: RunningService, api: httpx.Client
) -> None:
    mine = {"X-Request-Id": "trace-7f3a9c"}
    answers = [
        api.get("/v1/payments/pay_does_not_exist", headers=mine),  # 404 from a route
        api.get("/no/such/path", headers=mine),  # 404 from the router
        httpx.get(f"{service.base_url}/v1/payments", headers=mine),  # 401
        api.post("/v1/payments", content=b"x" * (70 * 1024), headers=mine),  # 413
        api.post("/v1/payments", json={"amount": "many"}, headers=mine),  # 400
        api.get("/healthz", headers=mine),
    ]
    assert [a.headers.get("x-request-id") for a in answers] == ["trace-7f3a9c"] * len(answers)
    assert {a.status_code for a in answers} >= {404, 401, 413, 400, 200}

    fresh = [api.get("/healthz").headers["x-request-id"] for _ in range(2)]
    assert fresh[0] != fresh[1] and all(fresh)
    # An id that is not a plain token is not echoed back (it could split a log line).
    odd = api.get("/healthz", headers={"X-Request-Id": "a b\tc" + "z" * 200})
    assert odd.headers["x-request-id"] not in ("", "a b\tc" + "z" * 200)


def test_a_json_log_line_of_a_confirm_names_the_request_the_tenant_and_the_payment(
    service: RunningService, api: httpx.Client, sandbox: httpx.Client
) -> None:
    payment = create_payment(api, 33000)
    key = pay_in_window(sandbox, payment)
    response = confirm(api, payment, key, **{"X-Request-Id": "confirm-req-0042"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "confirm-req-0042"

    def lines_of_the_request() -> list[dict[str, Any]]:
        return [line for line in log_lines(service) if line.get("request_id") == "confirm-req-0042"]

    lines = wait_for(lines_of_the_request)
    assert lines, service.logs()[-2000:]
    toss_line = next(line for line in lines if line["logger"] == "sunap_toss")
    assert toss_line["payment_id"] == payment["id"]
    assert toss_line["tenant"]
    assert {"time", "level", "logger", "message"} <= toss_line.keys()
    assert toss_line["level"] == "INFO" and "confirm" in toss_line["message"]
    # The id Toss's support asks for, on the line of the very call it answered.
    trail = api.get(f"/v1/payments/{payment['id']}/transactions").json()["items"]
    [confirmed] = [t for t in trail if t["type"] == "pg.confirm"]
    assert toss_line["toss_trace_id"] == confirmed["responseData"]["tossTraceId"]
    assert all("color_message" not in line for line in log_lines(service))


def test_tosss_trace_id_is_kept_in_the_audit_trail(
    api: httpx.Client, sandbox: httpx.Client
) -> None:
    payment = paid_payment(api, sandbox, 5000)
    items = api.get(f"/v1/payments/{payment['id']}/transactions").json()["items"]
    confirms = [t for t in items if t["type"] == "pg.confirm"]
    assert len(confirms) == 1, items
    trace_id = confirms[0]["responseData"]["tossTraceId"]
    assert isinstance(trace_id, str) and len(trace_id) >= 8


def test_no_key_or_authorization_header_reaches_the_json_log(
    service: RunningService, api: httpx.Client, sandbox: httpx.Client, merchant_key: str
) -> None:
    paid = paid_payment(api, sandbox, 8000)
    logs = service.logs()
    assert paid["card"]["number"] not in logs  # even masked, card data stays out of the log
    assert "test_sk_" not in logs  # the Toss secret key of the embedded sandbox
    assert merchant_key not in logs and "sk_sunap_" not in logs
    assert "Basic " not in logs and "Authorization" not in logs
    assert log_lines(service), "the service logged nothing as JSON"


def test_every_line_of_the_output_is_json_the_start_banner_too(service: RunningService) -> None:
    lines = log_lines(service)  # json.loads of each line: a plain one fails here
    start = [line for line in lines if line["logger"] == "sunap.start"]
    assert start and "Sunap listening on" in start[0]["message"]
    assert any(line["level"] == "WARNING" and "SANDBOX" in line["message"] for line in start)


def test_readyz_names_the_database_it_checked(service: RunningService) -> None:
    answer = httpx.get(f"{service.base_url}/readyz", timeout=10)
    assert answer.status_code == 200
    assert answer.json() == {"status": "ready", "checks": {"database": "ok"}}
