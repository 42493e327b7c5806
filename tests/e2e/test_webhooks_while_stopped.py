"""Deliveries taken while the webhook processor is stopped are kept and applied once it starts;
signed deliveries verified with TOSS_WEBHOOK_SECRET (two secrets while rotating)."""

from __future__ import annotations

import concurrent.futures
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from sunap_toss_sandbox.app import create_sandbox_app
from tests.e2e.flows import confirm, create_payment, pay_in_window, wait_for
from tests.support.sandbox_server import SANDBOX_SECRET_KEY, serving
from tests.support.service import SUNAP, RunningService, running_service
from tests.support.webhook_signing import sign_standard, sign_toss

NEW_SECRET = "toss-security-key-new"
OLD_SECRET = "toss-security-key-old"
PAYOUT = (
    b'{"eventType":"payout.changed","createdAt":"2026-01-15T09:00:00+09:00","version":"2022-11-16",'
    b'"eventId":"%s","entityType":"payout","entityBody":{"status":"COMPLETED"}}'
)


@dataclass
class Paused:
    service: RunningService
    sandbox_url: str  # a Toss sandbox of its own, so it outlives restarts of the service


@pytest.fixture(scope="module")
def paused(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Paused]:
    """A service whose workers are not running (deliveries are stored, nothing is applied),
    talking to a sandbox that keeps its state while the service is restarted."""
    sandbox_app = create_sandbox_app()
    with (
        serving(sandbox_app) as sandbox_url,
        running_service(
            Path(tmp_path_factory.mktemp("paused")),
            SUNAP_RUN_WORKERS="false",
            TOSS_SECRET_KEY=SANDBOX_SECRET_KEY,
            TOSS_API_BASE_URL=sandbox_url,
            TOSS_WEBHOOK_SECRET=f"{NEW_SECRET},{OLD_SECRET}",
        ) as svc,
    ):
        sandbox_app.state.sandbox.webhooks.url = f"{svc.base_url}/v1/webhooks/toss"
        yield Paused(svc, sandbox_url)


def post(
    service: RunningService, body: bytes, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.post(
        f"{service.base_url}/v1/webhooks/toss",
        content=body,
        headers={"Content-Type": "application/json", **(headers or {})},
        timeout=30,
    )


def listed(service: RunningService) -> list[dict[str, str]]:
    out = subprocess.run(
        [*SUNAP, "webhooks", "list"],
        env=service.env,
        cwd=service.workdir,
        capture_output=True,
        check=True,
    ).stdout.decode()
    header, *rows = out.strip().splitlines()
    names = header.lower().split("\t")
    return [dict(zip(names, row.split("\t"), strict=False)) for row in rows]


def toss_signed(body: bytes, secret: str, at: datetime | None = None) -> dict[str, str]:
    sent_at = (at or datetime.now(UTC)).isoformat(timespec="seconds")
    return {
        "tosspayments-webhook-transmission-time": sent_at,
        "tosspayments-webhook-signature": sign_toss(body, sent_at, secret),
    }


def test_deliveries_arriving_while_the_processor_is_stopped_are_applied_once_it_starts(
    paused: Paused,
) -> None:
    service = paused.service
    if service.env.get("SUNAP_RUN_WORKERS") != "false":  # another run of this test left it on
        service.stop()
        service.env["SUNAP_RUN_WORKERS"] = "false"
        service.start()
    key = service.create_key("shop-paused", "payments:read", "payments:write")
    with (
        service.client(key) as api,
        httpx.Client(base_url=paused.sandbox_url, timeout=30) as sandbox,
    ):
        payment = create_payment(api, 27000)
        issued = confirm(api, payment, pay_in_window(sandbox, payment, method="VIRTUAL_ACCOUNT"))
        assert issued.status_code == 200 and issued.json()["status"] == "WAITING_FOR_DEPOSIT"
        payment = issued.json()
        assert sandbox.post(f"/sandbox/virtual-accounts/{payment['paymentKey']}/deposit").is_success

        def delivered() -> list[dict[str, Any]]:
            items = sandbox.get("/sandbox/webhooks").json()["items"]
            mine = [
                d
                for d in items
                if payment["orderId"]
                in (d["body"].get("orderId"), d["body"].get("data", {}).get("orderId"))
                and d["body"].get("status", d["body"].get("data", {}).get("status")) == "DONE"
            ]
            return mine if len(mine) == 2 and all(d["state"] == "SUCCEEDED" for d in mine) else []

        sent = wait_for(delivered)
        assert sent, sandbox.get("/sandbox/webhooks").json()  # answered 200 with no processor
        assert api.get(f"/v1/payments/{payment['id']}").json()["status"] == "WAITING_FOR_DEPOSIT"
        # Toss retries meanwhile; the copies are acknowledged and stored once.
        bodies = [json.dumps(d["body"], ensure_ascii=False).encode() for d in sent] * 2
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda b: post(service, b), bodies))
        assert all(a.status_code == 200 and a.json()["duplicate"] for a in answers)
        waiting = [d for d in listed(service) if d["status"] == "RECEIVED"]
        assert {"DEPOSIT_CALLBACK", "PAYMENT_STATUS_CHANGED"} <= {d["event"] for d in waiting}

    service.stop()
    service.env["SUNAP_RUN_WORKERS"] = "true"
    service.start()
    with service.client(key) as api:
        done = wait_for(
            lambda: (p := api.get(f"/v1/payments/{payment['id']}").json())["status"] == "DONE" and p
        )
        assert done, api.get(f"/v1/payments/{payment['id']}").json()
        items = api.get(f"/v1/payments/{payment['id']}/transactions").json()["items"]
        hooks = [t for t in items if t["type"].startswith("webhook.")]
        assert [t["status"] for t in hooks].count("applied") == 1  # one transition, not two
        # Two deliveries, each repeated twice: each repeat is in the trail once.
        assert len([t for t in hooks if t["status"] == "duplicate"]) == 2
    settled = wait_for(lambda: all(d["status"] != "RECEIVED" for d in listed(service)))
    assert settled, listed(service)


def test_a_toss_signed_delivery_is_accepted_with_either_rotating_secret(
    paused: Paused,
) -> None:
    for secret, event_id in ((NEW_SECRET, b"evt_new_1"), (OLD_SECRET, b"evt_old_1")):
        body = PAYOUT % event_id
        response = post(paused.service, body, toss_signed(body, secret))
        assert response.status_code == 200, response.text


def test_a_standard_webhooks_signed_delivery_verifies_against_the_raw_bytes(
    paused: Paused,
) -> None:
    body = b'{"eventType":"payout.changed", "eventId":"evt_std_1"}'
    timestamp = int(datetime.now(UTC).timestamp())
    headers = {
        "webhook-id": "msg_std_1",
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign_standard(body, "msg_std_1", timestamp, OLD_SECRET),
    }
    assert post(paused.service, body, headers).status_code == 200
    reserialised = json.dumps(json.loads(body), separators=(",", ":")).encode()
    assert post(paused.service, reserialised, headers).status_code == 401


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("tampered", 401),
        ("wrong secret", 401),
        ("six minutes old", 401),
        ("six minutes ahead", 401),
        ("unsigned", 401),
    ],
)
def test_a_forged_signed_delivery_is_401_and_not_stored(
    paused: Paused, case: str, expected: int
) -> None:
    event_id = f"evt_forged_{case.replace(' ', '_')}".encode()
    body = PAYOUT % event_id
    now = datetime.now(UTC)
    headers = {
        "tampered": toss_signed(body.replace(b"COMPLETED", b"xxxxxxxxx"), NEW_SECRET),
        "wrong secret": toss_signed(body, "someone-else"),
        "six minutes old": toss_signed(body, NEW_SECRET, now - timedelta(minutes=6)),
        "six minutes ahead": toss_signed(body, NEW_SECRET, now + timedelta(minutes=6)),
        "unsigned": {},
    }[case]
    response = post(paused.service, body, headers)
    assert response.status_code == expected
    assert response.json()["code"] == "INVALID_SIGNATURE"
    # Not stored: the same event, properly signed, is new.
    assert post(paused.service, body, toss_signed(body, NEW_SECRET)).json()["duplicate"] is False
