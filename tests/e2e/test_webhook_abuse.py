"""Webhooks come without authentication: tried as an attacker would against a real `sunap serve`,
they cannot make it hammer Toss, flood the audit trail, keep secrets at rest or pile up forever."""

from __future__ import annotations

import itertools
import json
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.flows import paid_payment, toss_calls, wait_for
from tests.e2e.test_virtual_accounts import deposited, issued_account
from tests.support.service import SUNAP, RunningService, running_service
from tests.support.webhook_signing import sign_toss


@pytest.fixture()
def forgetful(tmp_path: Path) -> Iterator[RunningService]:
    """Deliveries are kept 15 seconds here (long enough for the CLI to start and list them on a
    slow machine), and pruned every half second."""
    retention = {
        "SUNAP_WEBHOOK_RETENTION_DAYS": str(15 / 86400),
        "SUNAP_HOUSEKEEPING_SECONDS": "0.5",
    }
    with running_service(tmp_path, **retention) as svc:
        yield svc


def stored_deliveries(service: RunningService) -> list[dict[str, Any]]:
    """The inbox as it is on disk (read-only)."""
    path = service.workdir / "sunap.db"
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT * FROM webhook_deliveries").fetchall()
    return [dict(r) for r in rows]


def post_webhook(service: RunningService, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        f"{service.base_url}/v1/webhooks/toss",
        content=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
        timeout=30,
    )


def trail(api: httpx.Client, payment: dict[str, Any]) -> list[dict[str, Any]]:
    return list(api.get(f"/v1/payments/{payment['id']}/transactions").json()["items"])


def test_a_hundred_forged_status_webhooks_make_one_toss_lookup_and_change_nothing(
    service: RunningService, api: httpx.Client, sandbox: httpx.Client
) -> None:
    payment = paid_payment(api, sandbox)
    key = payment["paymentKey"]
    before = len(trail(api, payment))
    flood_started = len(toss_calls(sandbox, ""))
    for n in range(100):
        forged = {
            "eventType": "PAYMENT_STATUS_CHANGED",
            "createdAt": "2026-11-28T23:00:00.000000",
            "data": {"paymentKey": key, "status": "CANCELED", "lastTransactionKey": f"f{n}"},
        }
        assert post_webhook(service, forged).status_code == 200

    def settled() -> bool:
        mine = [d for d in stored_deliveries(service) if key.encode() in d["body"]]
        return len(mine) >= 100 and all(d["status"] != "RECEIVED" for d in mine)

    assert wait_for(settled, timeout=60)
    during = toss_calls(sandbox, "")[flood_started:]
    lookups = [c for c in during if c["method"] == "GET" and c["path"] == f"/v1/payments/{key}"]
    # One look-up at most every 10 s, however fast forgeries arrive (the machine may be slow
    # to send them all: each look-up after the first waited out the interval).
    at = [datetime.fromisoformat(c["at"]) for c in lookups]
    assert 1 <= len(lookups) <= 1 + (at[-1] - at[0]).total_seconds() / 10
    assert all((b - a).total_seconds() >= 9.5 for a, b in itertools.pairwise(at))
    assert len(trail(api, payment)) - before <= 2 * len(lookups)
    assert api.get(f"/v1/payments/{payment['id']}").json()["status"] == "DONE"


def test_forged_webhooks_naming_made_up_payment_keys_cost_no_toss_call(
    service: RunningService, sandbox: httpx.Client
) -> None:
    """Coalescing holds one key's look-ups down; a new made-up key per forgery cost a look-up
    each, spending the account's calls that real webhooks and confirms need."""
    prefix = f"forged{time.time_ns()}"
    calls_before = len(toss_calls(sandbox, ""))
    for n in range(60):
        forged = {
            "eventType": "PAYMENT_STATUS_CHANGED",
            "data": {
                "paymentKey": f"{prefix}x{n}",
                "orderId": f"order-{prefix}-{n}",
                "status": "DONE",
            },
        }
        assert post_webhook(service, forged).status_code == 200

    def mine() -> list[dict[str, Any]]:
        return [d for d in stored_deliveries(service) if prefix.encode() in d["body"]]

    assert wait_for(lambda: len(mine()) == 60 and all(d["status"] == "UNMATCHED" for d in mine()))
    assert toss_calls(sandbox, "")[calls_before:] == []


def test_padded_forgeries_naming_made_up_payments_are_not_kept_whole(
    service: RunningService,
) -> None:
    """Fifty forged deliveries of 200 KB each (under the 256 KiB limit), with no key: once
    processed, each is kept as the few fields Sunap reads, not 10 MB for 90 days."""
    prefix = f"padded{time.time_ns()}"
    for n in range(50):
        forged = {
            "eventType": "PAYMENT_STATUS_CHANGED",
            "data": {"paymentKey": f"{prefix}x{n}", "status": "DONE", "pad": "x" * 200_000},
        }
        assert post_webhook(service, forged).status_code == 200

    def mine() -> list[dict[str, Any]]:
        return [d for d in stored_deliveries(service) if prefix.encode() in d["body"]]

    assert wait_for(lambda: len(mine()) == 50 and all(d["status"] == "UNMATCHED" for d in mine()))
    kept = [len(d["body"]) for d in mine()]
    assert max(kept) < 400, kept
    assert all(json.loads(d["body"])["trimmedFrom"] > 200_000 for d in mine())


@pytest.mark.parametrize(
    "data",
    [
        {"paymentKey": "tgen_abc", "status": "PWNED"},
        {"paymentKey": "k" * 201, "status": "DONE"},
        {"paymentKey": "tgen_abc", "orderId": "o" * 65, "status": "DONE"},
    ],
    ids=["not-a-toss-status", "key-too-long", "order-id-too-long"],
)
def test_a_status_webhook_toss_could_not_have_sent_is_400_and_kept_nowhere(
    service: RunningService, data: dict[str, str]
) -> None:
    body = {"eventType": "PAYMENT_STATUS_CHANGED", "data": data}
    before = len(stored_deliveries(service))
    response = post_webhook(service, body)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "INVALID_REQUEST"
    assert len(stored_deliveries(service)) == before


def test_an_event_type_sunap_does_not_act_on_is_kept_as_type_id_and_size(
    service: RunningService,
) -> None:
    body = {
        "eventType": "METHOD_UPDATED",
        "eventId": "evt_method_0001",
        "data": {"customerKey": "cust_private_0001", "status": "ENABLED", "padding": "x" * 5000},
    }
    assert post_webhook(service, body).status_code == 200
    [kept] = [d for d in stored_deliveries(service) if d["event_type"] == "METHOD_UPDATED"]
    assert json.loads(kept["body"]) == {
        "eventType": "METHOD_UPDATED",
        "eventId": "evt_method_0001",
        "size": len(json.dumps(body)),
    }
    assert kept["status"] == "IGNORED"


def test_a_signed_delivery_is_refused_where_no_webhook_secret_can_verify_it(
    service: RunningService,
) -> None:
    """This service has no TOSS_WEBHOOK_SECRET: a signature it cannot check was stored (200)."""
    body = json.dumps({"eventType": "payout.changed", "eventId": "evt_signed_0001"}).encode()
    sent_at = datetime.now().astimezone().isoformat()
    response = httpx.post(
        f"{service.base_url}/v1/webhooks/toss",
        content=body,
        headers={
            "content-type": "application/json",
            "tosspayments-webhook-transmission-time": sent_at,
            "tosspayments-webhook-signature": sign_toss(body, sent_at, "someone-elses-secret"),
        },
        timeout=30,
    )
    assert response.status_code == 401 and response.json()["code"] == "INVALID_SIGNATURE"
    assert not [d for d in stored_deliveries(service) if d["event_type"] == "payout.changed"]
    assert "TOSS_WEBHOOK_SECRET" in service.logs()


def test_a_virtual_accounts_secret_never_rests_on_disk(
    service: RunningService, api: httpx.Client, sandbox: httpx.Client
) -> None:
    payment = deposited(api, sandbox, issued_account(api, sandbox))
    sent = [
        d["body"]["secret"]
        for d in sandbox.get("/sandbox/webhooks").json()["items"]
        if d["body"].get("orderId") == payment["orderId"] and "secret" in d["body"]
    ]
    assert sent
    on_disk = (service.workdir / "sunap.db").read_bytes()
    wal = service.workdir / "sunap.db-wal"
    on_disk += wal.read_bytes() if wal.exists() else b""
    assert all(secret.encode() not in on_disk for secret in sent)


def test_a_deposit_callback_for_an_order_nobody_has_is_refused(service: RunningService) -> None:
    forged = {
        "createdAt": "2026-11-28T23:00:00.000000",
        "secret": "guessed",
        "status": "DONE",
        "transactionKey": "tx-forged",
        "orderId": "order-nobody-has-0001",
    }
    response = post_webhook(service, forged)
    assert response.status_code == 401
    assert response.json()["code"] == "INVALID_SIGNATURE"


def test_deliveries_are_pruned_after_the_retention_period(forgetful: RunningService) -> None:
    service = forgetful
    body = {"eventType": "seller.changed", "eventId": f"evt_prune_{time.time_ns()}", "data": {}}
    assert post_webhook(service, body).status_code == 200
    listed = subprocess.run(
        [*SUNAP, "webhooks", "list", "--limit", "500"],
        env=service.env,
        cwd=service.workdir,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "seller.changed" in listed.stdout

    def pruned() -> bool:
        return all(body["eventId"].encode() not in d["body"] for d in stored_deliveries(service))

    assert wait_for(pruned, timeout=45)
