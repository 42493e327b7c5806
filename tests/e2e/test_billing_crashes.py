"""kill -9 of the subscription scheduler before, during and after its Toss charge, and two
schedulers racing on one PostgreSQL or MariaDB: every period is charged exactly once."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.e2e.billing_flows import after, charges, get, run_due, subscribe
from tests.integration.reliability.stack import Stack, running_stack, wait_for
from tests.support.service import SUNAP, RunningService, running_service_on
from tests.support.vault import toss_billing_keys_of

pytestmark = pytest.mark.slow

CHARGE_GLOB = "/v1/billing/*"
# How each crash point is staged at the sandbox; the scheduler is killed while the call waits.
CRASH_POINTS = {
    "before-the-charge-lands": {"delayMs": 4000, "dropConnection": True},
    "during-the-charge": {"delayMs": 2500},
    "after-toss-charged-before-our-commit": {"delayMs": 4000, "afterApply": True},
}


@pytest.fixture(scope="module")
def module_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(Path(tmp_path_factory.mktemp("billing-crash"))) as stack:
        yield stack


@pytest.fixture
def stack(module_stack: Stack) -> Iterator[Stack]:
    module_stack.clear_faults()
    yield module_stack
    module_stack.clear_faults()


def new_subscription(api: httpx.Client, toss: httpx.Client, customer: str) -> dict[str, Any]:
    auth = toss.post("/sandbox/billing/auth", json={"customerKey": customer}).json()
    key = api.post("/v1/billing-keys", json=auth)
    assert key.status_code == 201, key.text
    created = subscribe(api, key.json())
    assert created.status_code == 201, created.text
    return dict(created.json())


def start_run_due(service: RunningService, at: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*SUNAP, "billing", "run-due", "--at", at],
        env=service.env,
        cwd=service.workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.parametrize("point", list(CRASH_POINTS))
def test_a_scheduler_killed_at_any_point_charges_the_period_once(stack: Stack, point: str) -> None:
    sub = new_subscription(stack.api, stack.toss, f"crash-{point}")
    at = after(sub["currentPeriodEnd"], minutes=1).isoformat()
    stack.fault(method="POST", path=CHARGE_GLOB, **CRASH_POINTS[point])

    scheduler = start_run_due(stack.service, at)
    claimed = wait_for(
        lambda: len(charges(stack.api, sub["id"])) == 2 or None, timeout=180, interval=0.2
    )
    assert claimed, stack.service.logs()[-3000:]
    time.sleep(0.3)  # the charge is now waiting at the sandbox
    scheduler.kill()  # kill -9
    scheduler.wait()

    # The reconciler in `sunap serve` sends the very same charge again and settles it.
    renewed = wait_for(
        lambda: (
            (s := get(stack.api, f"/v1/subscriptions/{sub['id']}"))["currentPeriodStart"]
            == sub["currentPeriodEnd"]
            and s
        ),
        timeout=180,
    )
    assert renewed, get(stack.api, f"/v1/subscriptions/{sub['id']}")
    assert renewed["status"] == "ACTIVE"
    # A scheduler run again for the same moment finds nothing due.
    assert [r for r in run_due(stack.service, at) if r[0] == sub["id"]] == []
    paid = charges(stack.api, sub["id"])
    assert [(p["orderId"][-5:], p["status"]) for p in paid] == [
        ("p1-a1", "DONE"),
        ("p0-a1", "DONE"),
    ]
    order_id = f"{sub['id']}-p1-a1"
    at_toss = stack.toss.get(f"/v1/payments/orders/{order_id}")
    assert at_toss.status_code == 200 and at_toss.json()["status"] == "DONE"
    calls = [c for c in stack.toss_calls("/v1/billing/") if order_id in (c["idempotencyKey"] or "")]
    assert len({c["idempotencyKey"] for c in calls}) == 1  # one key, before and after the crash


@pytest.fixture(scope="module", params=["postgresql", "mariadb"])
def server_service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningService]:
    """A database server two processes share (SQLite's one writer serializes them anyway)."""
    workdir = Path(tmp_path_factory.mktemp(f"billing-race-{request.param}"))
    with running_service_on(request.param, workdir) as svc:
        yield svc


def test_two_schedulers_racing_on_one_database_server_charge_each_period_once(
    server_service: RunningService,
) -> None:
    service = server_service
    with (
        service.client(service.create_key("race", "billing")) as api,
        httpx.Client(base_url=service.sandbox_url, timeout=30) as toss,
    ):
        subs = [new_subscription(api, toss, f"race-{n}") for n in range(6)]
        at = after(max(s["currentPeriodEnd"] for s in subs), minutes=1).isoformat()
        racers = [start_run_due(service, at) for _ in range(2)]
        for racer in racers:
            assert racer.wait(timeout=180) == 0
        for sub in subs:
            paid = charges(api, sub["id"])
            assert [(p["orderId"][-5:], p["status"]) for p in paid] == [
                ("p1-a1", "DONE"),
                ("p0-a1", "DONE"),
            ]
        approved = [
            c
            for c in toss.get("/sandbox/calls").json()["items"]
            if c["status"] == 200 and "-p1-a1" in (c["idempotencyKey"] or "")
        ]
        assert sorted(c["idempotencyKey"] for c in approved) == sorted(
            f"sunap-charge-{s['id']}-p1-a1" for s in subs
        )
        toss_keys = set(toss_billing_keys_of(service).values())  # opened from the vault
    # At rest on this server, Toss's billing keys are sealed: in no column of any row.
    stored = asyncio.run(_every_row(service.env["SUNAP_DATABASE_URL"]))
    assert toss_keys and stored and not any(key in stored for key in toss_keys)


async def _every_row(url: str) -> str:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as db:
            tables = ("billing_keys", "audit_entries", "outbox", "payments", "subscriptions")
            rows = [
                str(row)
                for table in tables
                for row in await db.execute(text(f"SELECT * FROM {table}"))
            ]
    finally:
        await engine.dispose()
    return "\n".join(rows)
