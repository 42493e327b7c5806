"""Money-safety under concurrency, enforced by the database: across requests and across processes."""

from __future__ import annotations

import concurrent.futures
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sunap.v1 import payments_pb2 as pb
from tests.e2e.flows import (
    confirm,
    create_payment,
    new_order_id,
    paid_payment,
    pay_in_window,
    toss_calls,
    wait_for,
)
from tests.e2e.grpc_client import grpc_client
from tests.support.databases import create_database, drop_database
from tests.support.metrics import scrape
from tests.support.service import RunningService, free_port, running_service

DOC_SECRET_KEY = "test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R"


def test_concurrent_requests_with_one_idempotency_key_execute_once(
    api: httpx.Client, sandbox: httpx.Client, service: RunningService, merchant_key: str
) -> None:
    payment = create_payment(api, 30000)
    key = pay_in_window(sandbox, payment)
    idem = f"confirm-{payment['orderId']}"

    def attempt(_: int) -> httpx.Response:
        with service.client(merchant_key) as client:
            return confirm(client, payment, key, **{"Idempotency-Key": idem})

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(attempt, range(8)))
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {200, 409}, [r.text for r in responses]
    done = [r for r in responses if r.status_code == 200]
    assert done and all(r.json()["status"] == "DONE" for r in done)
    assert all(
        r.json()["code"] == "IDEMPOTENCY_KEY_IN_USE" for r in responses if r.status_code == 409
    )
    assert all(r.headers.get("Retry-After") for r in responses if r.status_code == 409)
    confirms = [
        c
        for c in toss_calls(sandbox, "/v1/payments/confirm")
        if payment["id"] in (c["idempotencyKey"] or "")
    ]
    assert len(confirms) == 1
    replay = confirm(api, payment, key, **{"Idempotency-Key": idem})
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.content == done[0].content


def test_twenty_concurrent_partial_cancels_never_exceed_what_was_paid(
    api: httpx.Client, sandbox: httpx.Client, service: RunningService, merchant_key: str
) -> None:
    payment = paid_payment(api, sandbox, 10000)

    def cancel(_: int) -> httpx.Response:
        with service.client(merchant_key) as client:
            return client.post(
                f"/v1/payments/{payment['id']}/cancel",
                json={"cancelReason": "one item", "cancelAmount": 1000},
            )

    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(cancel, range(20)))
    succeeded = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code != 200]
    assert len(succeeded) == 10, [r.text for r in refused]
    assert {r.json()["code"] for r in refused} <= {
        "EXCEEDS_BALANCE",
        "NOT_CANCELABLE_STATUS",
        "CONCURRENT_UPDATE",
    }
    final = api.get(f"/v1/payments/{payment['id']}").json()
    assert final["balanceAmount"] == 0 and final["status"] == "CANCELED"
    toss = sandbox.get(f"/v1/payments/{payment['paymentKey']}", auth=(DOC_SECRET_KEY, "")).json()
    assert toss["balanceAmount"] == 0
    assert sum(c["cancelAmount"] for c in toss["cancels"]) == 10000
    cancel_calls = toss_calls(sandbox, f"/v1/payments/{payment['paymentKey']}/cancel")
    assert len(cancel_calls) == 10


def test_a_live_key_without_production_mode_refuses_to_start(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUNAP_", "TOSS_"))}
    env.update(
        TOSS_SECRET_KEY="live_sk_abcdefghijklmnop",
        SUNAP_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
        SUNAP_PORT=str(free_port()),
    )
    result = subprocess.run(
        [sys.executable, "-m", "sunap.cli", "serve"], env=env, capture_output=True, timeout=60
    )
    assert result.returncode != 0
    assert b"live key" in result.stderr
    assert b"live_sk_abcdefghijklmnop" not in result.stdout + result.stderr


@pytest.fixture()
def standalone_sandbox(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    with (tmp_path / "sandbox.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "sunap.cli", "sandbox", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{url}/sandbox/calls", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_two_serve_processes_on_one_postgresql_confirm_and_cancel_once(
    tmp_path: Path, standalone_sandbox: str
) -> None:
    url = create_database("postgresql", tmp_path)
    env = {
        "SUNAP_DATABASE_URL": url,
        "TOSS_SECRET_KEY": DOC_SECRET_KEY,
        "TOSS_API_BASE_URL": standalone_sandbox,
    }
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    try:
        with (
            running_service(tmp_path / "a", **env) as first,
            running_service(tmp_path / "b", **env) as second,
        ):
            key = first.create_key(
                "shop-multi", "payments:read", "payments:write", "payments:cancel"
            )
            with (
                first.client(key) as api,
                httpx.Client(base_url=standalone_sandbox, timeout=30) as sandbox,
            ):
                payment = create_payment(api, 10000, orderId=new_order_id())
                payment_key = pay_in_window(sandbox, payment)

                def attempt(i: int) -> int:
                    with (first if i % 2 else second).client(key) as client:
                        return confirm(client, payment, payment_key).status_code

                with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
                    codes = list(pool.map(attempt, range(10)))
                assert set(codes) <= {200, 409} and 200 in codes
                assert (
                    len(
                        [
                            c
                            for c in toss_calls(sandbox, "/v1/payments/confirm")
                            if payment["id"] in (c["idempotencyKey"] or "")
                        ]
                    )
                    == 1
                )

                def cancel(i: int) -> int:
                    with (first if i % 2 else second).client(key) as client:
                        return client.post(
                            f"/v1/payments/{payment['id']}/cancel",
                            json={"cancelReason": "r", "cancelAmount": 3000},
                        ).status_code

                with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
                    cancels = list(pool.map(cancel, range(10)))
                assert cancels.count(200) == 3
                toss = sandbox.get(f"/v1/payments/{payment_key}", auth=(DOC_SECRET_KEY, "")).json()
                assert toss["balanceAmount"] == 1000
                assert api.get(f"/v1/payments/{payment['id']}").json()["balanceAmount"] == 1000
    finally:
        drop_database(url)


def test_serve_with_two_workers_confirms_and_holds_each_keys_rate_limit_across_them(
    tmp_path: Path, standalone_sandbox: str
) -> None:
    """`sunap serve --workers 2`: both processes start, gRPC included; a payment created through
    one is confirmed through either; a key's burst (10 with 5/h) is spent once between the
    processes, however the kernel hands them the connections."""
    url = create_database("postgresql", tmp_path)
    env = {
        "SUNAP_DATABASE_URL": url,
        "TOSS_SECRET_KEY": DOC_SECRET_KEY,
        "TOSS_API_BASE_URL": standalone_sandbox,
        "SUNAP_RATE_LIMIT": "5/h",
    }
    try:
        with running_service(tmp_path, "--workers", "2", **env) as service:
            assert wait_for(lambda: service.logs().count("Application startup complete") == 2)
            key = service.create_key("shop-workers", "payments:read", "payments:write")
            with (
                service.client(key) as api,
                httpx.Client(base_url=standalone_sandbox, timeout=30) as sandbox,
            ):
                payment = create_payment(api, 5000, orderId=new_order_id())
                confirmed = confirm(api, payment, pay_in_window(sandbox, payment))
                assert confirmed.status_code == 200, confirmed.text
                assert confirmed.json()["status"] == "DONE"
            # Both processes serve gRPC on the one port (each would refuse a stranger's).
            with grpc_client(service.grpc_target, key) as door:
                assert door.get(payment["id"]).status == pb.DONE

            def read(_: int) -> int:
                with service.client(key) as fresh_connection:
                    return fresh_connection.get(f"/v1/payments/{payment['id']}").status_code

            with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
                codes = list(pool.map(read, range(40)))
            # The burst of 10 less the create, the confirm and the gRPC read: 7 went ahead.
            assert codes.count(200) == 7 and codes.count(429) == 33, codes

            # Whichever process answers a scrape counts what both did.
            def answered(status: str) -> float:
                return scrape(service.base_url).value(
                    "sunap_http_requests_total",
                    route="/v1/payments/{payment_id}",
                    method="GET",
                    status=status,
                )

            for _ in range(6):  # on fresh connections, so both processes answer some
                assert (answered("200"), answered("429")) == (7, 33)
            approved = scrape(service.base_url).value("sunap_payments_total", event="approved")
            assert approved == 1
    finally:
        drop_database(url)


def children_of(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(c) for c in (task / "children").read_text().split()}
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_serve_with_two_workers_stops_them_when_it_is_killed(
    tmp_path: Path, standalone_sandbox: str
) -> None:
    """kill -9 of `sunap serve --workers 2` leaves no orphan serving the port with nobody to
    restart or stop it: each worker is told to stop when its parent dies."""
    url = create_database("postgresql", tmp_path)
    env = {
        "SUNAP_DATABASE_URL": url,
        "TOSS_SECRET_KEY": DOC_SECRET_KEY,
        "TOSS_API_BASE_URL": standalone_sandbox,
    }
    try:
        with running_service(tmp_path, "--workers", "2", **env) as service:
            assert wait_for(lambda: service.logs().count("Application startup complete") == 2)
            assert service.process is not None
            workers = children_of(service.process.pid)
            assert len(workers) >= 2
            service.kill()
            assert wait_for(lambda: not any(alive(pid) for pid in workers), timeout=30), [
                pid for pid in workers if alive(pid)
            ]
    finally:
        drop_database(url)


def test_serve_with_two_workers_and_a_setting_they_cannot_build_with_exits(
    tmp_path: Path,
) -> None:
    """A setting only building the app finds (here a broker Sunap has no publisher for) stopped
    every worker at its start, and uvicorn started them again forever: the parent now builds
    one first and ends as one process would."""
    url = create_database("postgresql", tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUNAP_", "TOSS_"))}
    env.update(
        SUNAP_DATABASE_URL=url,
        TOSS_SECRET_KEY=DOC_SECRET_KEY,
        SUNAP_BROKER_URL="bogus://nowhere",
        SUNAP_PORT=str(free_port()),
        SUNAP_GRPC_PORT=str(free_port()),
    )
    try:
        done = subprocess.run(
            [sys.executable, "-m", "sunap.cli", "serve", "--workers", "2"],
            env=env,
            capture_output=True,
            timeout=120,
        )
        assert done.returncode == 2, done.stderr.decode()[-2000:]
        assert b"refusing to start: SUNAP_BROKER_URL" in done.stderr
        assert b"Started server process" not in done.stderr + done.stdout
    finally:
        drop_database(url)
