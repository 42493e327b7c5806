"""`POST /v1/webhooks/toss` over real HTTP against a running `sunap serve` and its sandbox:
bad input changes nothing, forged deliveries change nothing, duplicates and reordered deliveries
converge on what Toss says, and unknown payments are recorded."""

from __future__ import annotations

import base64
import concurrent.futures
import json
import subprocess
from typing import Any

import httpx
import pytest

from tests.e2e.flows import confirm, create_payment, paid_payment, pay_in_window, wait_for
from tests.support.service import SUNAP, RunningService

# Any test secret key gets into the sandbox: this one plays a person in Toss's console.
CONSOLE = "Basic " + base64.b64encode(b"test_sk_console_operator:").decode()


def post_webhook(service: RunningService, body: bytes | dict[str, Any]) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(
        f"{service.base_url}/v1/webhooks/toss",
        content=content,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )


def status_changed(payment: dict[str, Any], status: str, **data: Any) -> dict[str, Any]:
    return {
        "eventType": "PAYMENT_STATUS_CHANGED",
        "createdAt": "2026-01-15T09:00:00.000000",
        "data": {
            "paymentKey": payment["paymentKey"],
            "orderId": payment["orderId"],
            "status": status,
            **data,
        },
    }


def waiting_account(api: httpx.Client, sandbox: httpx.Client) -> dict[str, Any]:
    payment = create_payment(api, 21000)
    response = confirm(api, payment, pay_in_window(sandbox, payment, method="VIRTUAL_ACCOUNT"))
    assert response.status_code == 200 and response.json()["status"] == "WAITING_FOR_DEPOSIT"
    return dict(response.json())


def current(api: httpx.Client, payment: dict[str, Any]) -> dict[str, Any]:
    return dict(api.get(f"/v1/payments/{payment['id']}").json())


def trail(api: httpx.Client, payment: dict[str, Any]) -> list[dict[str, Any]]:
    return list(api.get(f"/v1/payments/{payment['id']}/transactions").json()["items"])


def webhook_entries(api: httpx.Client, payment: dict[str, Any], status: str) -> list[Any]:
    return [
        t for t in trail(api, payment) if t["type"].startswith("webhook.") and t["status"] == status
    ]


def delivery(service: RunningService, delivery_id: str) -> dict[str, Any]:
    shown = subprocess.run(
        [*SUNAP, "webhooks", "show", delivery_id],
        env=service.env,
        cwd=service.workdir,
        capture_output=True,
        check=True,
    )
    return dict(json.loads(shown.stdout))


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'{"createdAt": "2026-01-15T09:00:00.000000"}',
        b'{"eventType": "PAYMENT_STATUS_CHANGED", "data": "DONE"}',
        b'{"eventType": "PAYMENT_STATUS_CHANGED", "data": {"status": "DONE"}}',
        b'{"secret": "s", "status": "DONE"}',
    ],
)
def test_a_malformed_delivery_is_a_400_with_an_error_body(
    service: RunningService, body: bytes
) -> None:
    response = post_webhook(service, body)
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_REQUEST" and response.json()["message"]


def test_a_forged_status_change_is_acknowledged_and_changes_nothing(
    service: RunningService, api: httpx.Client, sandbox: httpx.Client
) -> None:
    payment = waiting_account(api, sandbox)
    forged = status_changed(
        payment, "DONE", totalAmount=10, balanceAmount=10, lastTransactionKey="x"
    )
    response = post_webhook(service, forged)
    assert response.status_code == 200 and response.json()["duplicate"] is False
    assert wait_for(lambda: webhook_entries(api, payment, "unchanged")), trail(api, payment)
    after = current(api, payment)
    assert after["status"] == "WAITING_FOR_DEPOSIT"
    assert after["amount"] == 21000 and after["balanceAmount"] == 21000


def test_a_deposit_callback_with_a_wrong_secret_is_401_and_changes_nothing(
    service: RunningService, api: httpx.Client, sandbox: httpx.Client
) -> None:
    payment = waiting_account(api, sandbox)
    forged = {
        "createdAt": "2026-01-15T09:00:00.000000",
        "secret": "ps_not_the_secret",
        "status": "DONE",
        "transactionKey": "9FF15E1A29D0E77C218F57262BFA4986",
        "orderId": payment["orderId"],
    }
    response = post_webhook(service, forged)
    assert response.status_code == 401 and response.json()["code"]
    assert current(api, payment)["status"] == "WAITING_FOR_DEPOSIT"
    assert webhook_entries(api, payment, "rejected")
    assert "ps_not_the_secret" not in str(trail(api, payment))


def test_a_webhook_for_a_payment_we_do_not_know_is_acknowledged_and_recorded_unmatched(
    service: RunningService,
) -> None:
    unknown = status_changed(
        {"paymentKey": "tnhig20260115090000zzzzz", "orderId": "order-nobody-knows"}, "DONE"
    )
    response = post_webhook(service, unknown)
    assert response.status_code == 200
    delivery_id = response.json()["deliveryId"]
    recorded = wait_for(
        lambda: (d := delivery(service, delivery_id))["status"] == "UNMATCHED" and d
    )
    assert recorded, delivery(service, delivery_id)
    assert recorded["paymentId"] is None
    # An operator replays it: processed again, still unmatched, one more attempt.
    replay = subprocess.run(
        [*SUNAP, "webhooks", "replay", delivery_id],
        env=service.env,
        cwd=service.workdir,
        capture_output=True,
    )
    assert replay.returncode == 0, replay.stderr
    again = wait_for(
        lambda: (
            (d := delivery(service, delivery_id))["attempts"] == 2
            and d["status"] == "UNMATCHED"
            and d
        )
    )
    assert again, delivery(service, delivery_id)
    assert (
        json.loads(json.dumps(recorded["body"]))["data"]["paymentKey"]
        == unknown["data"]["paymentKey"]
    )


def test_duplicate_and_reordered_deliveries_converge_on_what_toss_says(
    service: RunningService, api: httpx.Client, sandbox: httpx.Client
) -> None:
    payment = paid_payment(api, sandbox, 18000)
    # Someone cancels in Toss's console: Sunap learns of it only from the webhook.
    console = sandbox.post(
        f"/v1/payments/{payment['paymentKey']}/cancel",
        json={"cancelReason": "콘솔 취소"},
        headers={"Authorization": CONSOLE},
    )
    assert console.status_code == 200, console.text
    canceled = wait_for(lambda: (p := current(api, payment))["status"] == "CANCELED" and p)
    assert canceled, current(api, payment)
    assert canceled["balanceAmount"] == 0

    sent = [
        d["body"]
        for d in sandbox.get("/sandbox/webhooks").json()["items"]
        if d["body"].get("data", {}).get("paymentKey") == payment["paymentKey"]
    ]
    assert {b["data"]["status"] for b in sent} == {"DONE", "CANCELED"}
    # Toss retries what it sent, and the stale DONE arrives again, late and several times at once.
    late_done = next(b for b in sent if b["data"]["status"] == "DONE")
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda b: post_webhook(service, b), [*sent, late_done, late_done]))
    assert [a.status_code for a in answers] == [200] * 4
    assert all(a.json()["duplicate"] for a in answers)
    # A DONE the service never saw, arriving after the cancel, is fetched and changes nothing.
    stale = status_changed(payment, "DONE", lastTransactionKey="stale-approval")
    first = post_webhook(service, stale).json()
    assert first["duplicate"] is False
    # Sent again, it is acknowledged as the delivery kept the first time.
    again = post_webhook(service, stale).json()
    assert again == {"received": True, "duplicate": True, "deliveryId": first["deliveryId"]}
    assert wait_for(lambda: webhook_entries(api, payment, "unchanged")), trail(api, payment)

    final = current(api, payment)
    assert final["status"] == "CANCELED" and final["balanceAmount"] == 0
    assert len(final["cancels"]) == 1
    assert len(webhook_entries(api, payment, "applied")) == 1  # only the cancel changed it
    # Each repeated delivery is in the trail once, however often it came again.
    assert len(webhook_entries(api, payment, "duplicate")) == 3
