"""A real `sunap serve` talking to a Toss sandbox that outlives it.

The embedded sandbox dies with the service, so a crash test could never ask Toss what happened.
Here the sandbox runs in the test process (its own port and state) and the service is a
subprocess pointed at it with a test secret key: `kill -9` takes the service down, Toss's
record stays, and the restarted service has to find the truth by itself.

Nothing here is a mock: the service's own SQLite file is read (read-only) to count outbox rows.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tests.e2e.flows import new_order_id
from tests.support.sandbox_server import SANDBOX_SECRET_KEY, running_sandbox
from tests.support.service import RunningService, free_port

T = TypeVar("T")

# Fast enough for tests, long enough that a breaker's cool-off (10 s) fits inside the schedule.
TEST_RECONCILE_DELAYS = "1,1,1,2,2,3,5,8"
CONFIRM_PATH = "/v1/payments/confirm"
CANCEL_GLOB = "/v1/payments/*/cancel"


@dataclass
class Stack:
    service: RunningService
    toss: httpx.Client  # the sandbox, with our merchant's secret key as Basic auth
    api: httpx.Client  # Sunap, with a merchant API key
    db_path: Path

    # -- the customer and Toss's control plane -------------------------------------------
    def new_payment(self, amount: int = 10000) -> dict[str, Any]:
        body = {"orderName": "생수 외 1건", "amount": amount, "orderId": new_order_id()}
        response = self.api.post("/v1/payments", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def pay_in_window(self, payment: dict[str, Any]) -> str:
        body = {"orderId": payment["orderId"], "amount": payment["amount"]}
        response = self.toss.post("/sandbox/payments", json=body)
        assert response.status_code in (200, 201), response.text
        return str(response.json()["paymentKey"])

    def fault(self, **spec: Any) -> None:
        response = self.toss.post("/sandbox/faults", json=spec)
        assert response.status_code in (200, 201), response.text

    def clear_faults(self) -> None:
        self.toss.delete("/sandbox/faults").raise_for_status()

    def toss_calls(self, path_glob_part: str, key_part: str | None = None) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.toss.get("/sandbox/calls").json()["items"]
        return [
            c
            for c in items
            if path_glob_part in c["path"]
            and (key_part is None or key_part in (c["idempotencyKey"] or ""))
        ]

    def toss_payment(self, payment_key: str) -> dict[str, Any]:
        response = self.toss.get(f"/v1/payments/{payment_key}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    # -- Sunap -----------------------------------------------------------------------------
    def confirm(self, payment: dict[str, Any], payment_key: str) -> httpx.Response:
        body = {
            "paymentKey": payment_key,
            "orderId": payment["orderId"],
            "amount": payment["amount"],
        }
        return self.api.post(CONFIRM_PATH, json=body)

    def cancel(
        self, payment_id: str, amount: int | None = None, idempotency_key: str | None = None
    ) -> httpx.Response:
        body: dict[str, Any] = {"cancelReason": "고객 변심"}
        if amount is not None:
            body["cancelAmount"] = amount
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return self.api.post(f"/v1/payments/{payment_id}/cancel", json=body, headers=headers)

    def payment(self, payment_id: str) -> dict[str, Any]:
        response = self.api.get(f"/v1/payments/{payment_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def settled(self, payment_id: str, timeout: float = 40.0) -> dict[str, Any]:
        """The payment once nothing about it is in doubt any more (or the last view)."""
        return wait_for(lambda: _if_settled(self.payment(payment_id)), timeout) or self.payment(
            payment_id
        )

    def outbox_events(self, payment_id: str) -> list[tuple[str, int]]:
        """(type, sequence) of every outbox row of the payment, in the order they were written."""
        with closing(sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=30)) as db:
            rows = db.execute(
                "SELECT type, payload FROM outbox WHERE aggregateid = ? ORDER BY seq",
                (payment_id,),
            ).fetchall()
        return [(kind, int(json.loads(payload)["sequence"])) for kind, payload in rows]

    def restart_after_kill(self) -> None:
        self.service.kill()
        self.service.start()


def _if_settled(payment: dict[str, Any]) -> dict[str, Any] | None:
    in_doubt = payment["status"] == "IN_PROGRESS" or payment["pendingCancelAmount"] > 0
    return None if in_doubt else payment


def wait_for(check: Callable[[], T | None], timeout: float, interval: float = 0.1) -> T | None:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


@contextmanager
def running_stack(workdir: Path, **env: str) -> Iterator[Stack]:
    """A fresh sandbox (no webhooks: only the reconciler may learn the truth) and a service."""
    with running_sandbox() as sandbox_url:
        port = free_port()
        service_env = {
            "SUNAP_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'sunap.db'}",
            "SUNAP_PORT": str(port),
            "SUNAP_WORKER_POLL_SECONDS": "0.1",
            "SUNAP_RECONCILE_DELAYS": TEST_RECONCILE_DELAYS,
            "TOSS_SECRET_KEY": SANDBOX_SECRET_KEY,
            "TOSS_API_BASE_URL": sandbox_url,
            **env,
        }
        base_env = {k: v for k, v in os.environ.items() if not k.startswith(("SUNAP_", "TOSS_"))}
        service = RunningService(
            base_url=f"http://127.0.0.1:{port}",
            env={**base_env, **service_env},
            workdir=workdir,
            log_path=workdir / "serve.log",
        )
        service.start()
        try:
            key = service.create_key("shop-reliability", "admin")
            with (
                httpx.Client(
                    base_url=sandbox_url, auth=(SANDBOX_SECRET_KEY, ""), timeout=30
                ) as toss,
                service.client(key, timeout=60) as api,
            ):
                yield Stack(service, toss, api, workdir / "sunap.db")
        finally:
            service.stop()
