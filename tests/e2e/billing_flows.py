"""Steps of the billing e2e tests: register a card, subscribe, run the scheduler as if later."""

from __future__ import annotations

import subprocess
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx

from tests.support.service import SUNAP, RunningService


def customer_key() -> str:
    return f"cust-{uuid.uuid4().hex[:12]}"


def billing_key(api: httpx.Client, sandbox: httpx.Client, customer: str) -> dict[str, Any]:
    """Card registration as the frontend and backend do it: authKey from Toss, then issue."""
    auth = sandbox.post("/sandbox/billing/auth", json={"customerKey": customer}).json()
    issued = api.post("/v1/billing-keys", json=auth)
    assert issued.status_code == 201, issued.text
    return dict(issued.json())


def subscribe(
    api: httpx.Client,
    key: dict[str, Any],
    amount: int = 9900,
    idempotency_key: str | None = None,
    **fields: Any,
) -> httpx.Response:
    body = {
        "customerKey": key["customerKey"],
        "billingKeyId": key["id"],
        "plan": "pro",
        "orderName": "Pro plan",
        "amount": amount,
        "interval": "month",
        **fields,
    }
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
    return api.post("/v1/subscriptions", json=body, headers=headers)


def active_subscription(api: httpx.Client, sandbox: httpx.Client, **fields: Any) -> dict[str, Any]:
    created = subscribe(api, billing_key(api, sandbox, customer_key()), **fields)
    assert created.status_code == 201, created.text
    return dict(created.json())


def run_due(
    service: RunningService, at: str | datetime, *, logs_into: list[str] | None = None
) -> list[list[str]]:
    """`sunap billing run-due --at`: the rows it printed, the summary line last (its log lines
    are added to `logs_into`)."""
    moment = at if isinstance(at, str) else at.isoformat()
    done = subprocess.run(
        [*SUNAP, "billing", "run-due", "--at", moment],
        env=service.env,
        cwd=service.workdir,
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    if logs_into is not None:
        logs_into.append(done.stderr.decode(errors="replace"))
    lines = done.stdout.decode().strip().splitlines()
    return [line.split("\t") for line in lines]


def rows_of(printed: list[list[str]], sub_id: str) -> list[list[str]]:
    return [row for row in printed if row[0] == sub_id]


def after(moment: str, **delta: float) -> datetime:
    return datetime.fromisoformat(moment) + timedelta(**delta)


def get(api: httpx.Client, path: str) -> dict[str, Any]:
    response = api.get(path)
    assert response.status_code == 200, response.text
    return dict(response.json())


def charges(api: httpx.Client, sub_id: str) -> list[dict[str, Any]]:
    return list(get(api, f"/v1/subscriptions/{sub_id}/payments")["items"])


def refuse_next_charges(sandbox: httpx.Client, times: int = 1) -> None:
    fault = {
        "method": "POST",
        "path": "/v1/billing/*",
        "times": times,
        "status": 403,
        "code": "REJECT_CARD_COMPANY",
    }
    assert sandbox.post("/sandbox/faults", json=fault).status_code in (200, 201)


def cancel_every_other_subscription(api: httpx.Client, keep: str) -> None:
    """Cancel now the tenant's live subscriptions but `keep`, so that `run_due` charges `keep`
    alone: a sandbox fault is used by whichever charge comes first."""
    listed = get(api, "/v1/subscriptions?limit=100")["items"]
    for sub in listed:
        if sub["id"] != keep and sub["status"] != "CANCELED":
            api.post(f"/v1/subscriptions/{sub['id']}/cancel", json={"atPeriodEnd": False})
