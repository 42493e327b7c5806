"""Confirms and cancels against a real `sunap serve` on PostgreSQL while its backends are cut.

A standalone `sunap sandbox` plays Toss. While a few hundred confirms and cancels run (some of
them abandoned by their client midway: a disconnect), a loop runs pg_terminate_backend on every
backend of the service's database every few hundred ms. Then the service's log is read: how many
times a pooled connection was handed to a statement while another operation (or the remains of
one: an error the driver had not finished reading) was still on it, and how the requests ended.

    .venv/bin/python bench/pg_terminate_storm.py                     # ports 18400 and 18401
    .venv/bin/python bench/pg_terminate_storm.py --payments 300 --storms 3
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.databases import POSTGRES_SERVER, create_database, drop_database, migrate
from tests.support.sandbox_server import SANDBOX_SECRET_KEY
from tests.support.service import SUNAP, TEST_SECRETS_KEY

# What asyncpg says when a connection is asked for a second operation while one is on it.
IN_PROGRESS = ("another operation is in progress", "another operation (")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=18400, help="the service; the sandbox +1")
    parser.add_argument("--payments", type=int, default=300, help="per storm")
    parser.add_argument("--storms", type=int, default=2)
    parser.add_argument("--every", type=float, default=0.3, help="seconds between cuts")
    parser.add_argument("--clients", type=int, default=32, help="requests in flight")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="pg-storm-"))
    url = create_database("postgresql", workdir)
    database = url.rsplit("/", 1)[1]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        migrate(url)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SUNAP_", "TOSS_"))}
        sandbox_url = f"http://127.0.0.1:{args.port + 1}"
        env |= {
            "SUNAP_DATABASE_URL": url,
            "SUNAP_PORT": str(args.port),
            "SUNAP_GRPC_PORT": "0",
            "SUNAP_SECRETS_KEY": TEST_SECRETS_KEY,
            "SUNAP_RATE_LIMIT": "off",
            "SUNAP_WORKER_POLL_SECONDS": "0.2",
            "TOSS_SECRET_KEY": SANDBOX_SECRET_KEY,
            "TOSS_API_BASE_URL": sandbox_url,
        }
        log_path = workdir / "serve.log"
        with (workdir / "sandbox.log").open("ab") as log:
            sandbox = [*SUNAP, "sandbox", "--port", str(args.port + 1)]
            processes.append(subprocess.Popen(sandbox, env=env, stdout=log, stderr=log))
        key = subprocess.run(
            [*SUNAP, "keys", "create", "--tenant", "storm", "--scope", "admin"],
            env=env, capture_output=True, check=True, text=True, cwd=workdir,
        ).stdout.strip().splitlines()[-1]  # fmt: skip
        with log_path.open("ab") as log:
            serve = [*SUNAP, "serve"]
            processes.append(subprocess.Popen(serve, env=env, stdout=log, stderr=log, cwd=workdir))
        base_url = f"http://127.0.0.1:{args.port}"
        _wait_up(f"{base_url}/healthz")
        _wait_up(f"{sandbox_url}/sandbox/calls", auth=(SANDBOX_SECRET_KEY, ""))
        outcomes: collections.Counter[str] = collections.Counter()
        for storm in range(args.storms):
            _storm(base_url, sandbox_url, key, database, args, outcomes)
            print(f"storm {storm + 1}: {dict(sorted(outcomes.items()))}", flush=True)
        time.sleep(1)
    finally:
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        drop_database(url)
    logs = (workdir / "serve.log").read_text(errors="replace")
    in_progress = [line for line in logs.splitlines() if any(m in line for m in IN_PROGRESS)]
    answered = [line for line in in_progress if " sunap.http " in line]
    print(f"log: {workdir / 'serve.log'}")
    print(f"'another operation … in progress' lines in the service's log: {len(in_progress)}")
    print(f"  of which requests answered with it: {len(answered)}")
    for line in in_progress[:5]:
        print("  ", line[:240])
    return 0


def _wait_up(url: str, **kwargs: Any) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1, **kwargs).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def _storm(
    base_url: str,
    sandbox_url: str,
    key: str,
    database: str,
    args: argparse.Namespace,
    outcomes: collections.Counter[str],
) -> None:
    api = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=60)
    toss = httpx.Client(base_url=sandbox_url, auth=(SANDBOX_SECRET_KEY, ""), timeout=60)
    # Payments made and paid in the Toss window before the storm: the storm is confirms and cancels.
    ready = []
    for _ in range(args.payments):
        order_id = f"order-{uuid.uuid4().hex[:20]}"
        created = api.post(
            "/v1/payments", json={"orderName": "storm", "amount": 1000, "orderId": order_id}
        )
        created.raise_for_status()
        payment = created.json()
        paid = toss.post("/sandbox/payments", json={"orderId": order_id, "amount": 1000})
        paid.raise_for_status()
        ready.append((payment, paid.json()["paymentKey"]))
    stop = threading.Event()
    cutter = threading.Thread(target=_cut_backends, args=(database, args.every, stop))
    cutter.start()
    lock = threading.Lock()

    def play(item: tuple[dict[str, Any], str]) -> None:
        payment, payment_key = item
        body = {"paymentKey": payment_key, "orderId": payment["orderId"], "amount": 1000}
        seen = [_send(api, "POST", "/v1/payments/confirm", body)]
        for _ in range(2):  # a cancel, and a retry of it (or of the confirm) while cut
            seen.append(
                _send(
                    api, "POST", f"/v1/payments/{payment['id']}/cancel", {"cancelReason": "storm"}
                )
            )
        with lock:
            outcomes.update(seen)

    try:
        with ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(play, ready))
    finally:
        stop.set()
        cutter.join()
        api.close()
        toss.close()


def _send(api: httpx.Client, method: str, path: str, body: dict[str, Any]) -> str:
    # One in five requests is abandoned midway: the service sees its client disconnect.
    timeout = random.uniform(0.005, 0.05) if random.random() < 0.2 else 60.0
    try:
        return str(api.request(method, path, json=body, timeout=timeout).status_code)
    except httpx.TimeoutException:
        return "abandoned"
    except httpx.TransportError as error:
        return type(error).__name__


def _cut_backends(database: str, every: float, stop: threading.Event) -> None:
    async def loop() -> None:
        import asyncpg

        admin = await asyncpg.connect(POSTGRES_SERVER)
        try:
            while not stop.is_set():
                await asyncio.sleep(every)
                await admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = $1 AND pid <> pg_backend_pid()",
                    database,
                )
        finally:
            await admin.close()

    asyncio.run(loop())


if __name__ == "__main__":
    sys.exit(main())
