"""A confirm through gRPC and through HTTP, on the same `sunap serve` process (embedded default:
SQLite + the in-process Toss sandbox), and a read of one payment for the cost of the door alone.
Prints figures; asserts nothing.

    .venv/bin/python bench/grpc_vs_http.py [--requests 200] [--concurrency 16] [--database URL]

For each door, sequential (one caller) and concurrent (`--concurrency` callers on threads):
requests/s, p50 and p99 latency, and the serving process's CPU time per request (utime + stime
from /proc/<pid>/stat before and after). Every confirm is a fresh payment, created and paid in
the sandbox's window beforehand (not timed); a confirm includes Sunap's own HTTP call to the
sandbox, so both doors carry the same PG work and differ only in the door. The read (GetPayment,
`GET /v1/payments/{id}`) has no PG call: there the door is most of the work.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sunap.v1 import payments_pb2 as pb
from sunap.v1 import payments_pb2_grpc as pb_grpc
from tests.e2e.flows import create_payment, pay_in_window
from tests.support.service import running_service

TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Figures:
    call: str
    door: str
    callers: int
    requests: int
    seconds: float
    latencies: list[float]
    cpu_seconds: float

    def row(self) -> str:
        ordered = sorted(self.latencies)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        return (
            f"| {self.call} | {self.door} | {self.callers} | {self.requests} | "
            f"{self.requests / self.seconds:,.0f} | {statistics.median(ordered) * 1000:.1f} | "
            f"{p99 * 1000:.1f} | {self.cpu_seconds * 1000 / self.requests:.2f} |"
        )


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14 and 15)


def measure(
    call: str, door: str, pid: int, callers: int, work: list[Any], run: Callable[[Any], None]
) -> Figures:
    latencies: list[float] = []

    def one(item: Any) -> None:
        started = time.perf_counter()
        run(item)
        latencies.append(time.perf_counter() - started)

    cpu_before, started = cpu_seconds(pid), time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(callers) as pool:
        for future in [pool.submit(one, item) for item in work]:
            future.result()
    elapsed = time.perf_counter() - started
    return Figures(
        call, door, callers, len(work), elapsed, latencies, cpu_seconds(pid) - cpu_before
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="calls per door and run")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--database", default=None, help="a SUNAP_DATABASE_URL (default SQLite)")
    args = parser.parse_args()
    extra = {"SUNAP_DATABASE_URL": args.database} if args.database else {}
    with running_service(Path(tempfile.mkdtemp()), **extra) as service:
        assert service.process is not None
        pid = service.process.pid
        key = service.create_key("bench", "admin")
        bearer = {"Authorization": f"Bearer {key}"}
        metadata = (("authorization", f"Bearer {key}"),)
        local = threading.local()  # one keep-alive HTTP client per caller thread

        def http_client() -> httpx.Client:
            if not hasattr(local, "http"):
                local.http = httpx.Client(base_url=service.base_url, headers=bearer, timeout=60)
            client: httpx.Client = local.http
            return client

        def ready_payments(count: int) -> list[tuple[dict[str, Any], str]]:
            with service.client(key) as api, httpx.Client(base_url=service.sandbox_url) as toss:
                made = [create_payment(api, 15000) for _ in range(count)]
                return [(p, pay_in_window(toss, p)) for p in made]

        def over_http(item: tuple[dict[str, Any], str]) -> None:
            payment, payment_key = item
            body = {"paymentKey": payment_key, "orderId": payment["orderId"], "amount": 15000}
            response = http_client().post("/v1/payments/confirm", json=body)
            assert response.status_code == 200, response.text

        with grpc.insecure_channel(service.grpc_target) as channel:
            stub = pb_grpc.PaymentServiceStub(channel)

            def over_grpc(item: tuple[dict[str, Any], str]) -> None:
                payment, payment_key = item
                request = pb.ConfirmPaymentRequest(
                    order_id=payment["orderId"], amount=15000, payment_key=payment_key
                )
                assert stub.ConfirmPayment(request, metadata=metadata, timeout=60).status == pb.DONE

            def read_http(payment_id: str) -> None:
                assert http_client().get(f"/v1/payments/{payment_id}").status_code == 200

            def read_grpc(payment_id: str) -> None:
                request = pb.GetPaymentRequest(id=payment_id)
                assert stub.GetPayment(request, metadata=metadata, timeout=60).id == payment_id

            read_id = ready_payments(1)[0][0]["id"]

            def workload(call: str, count: int) -> list[Any]:
                return ready_payments(count) if call == "confirm" else [read_id] * count

            doors = {"confirm": (over_http, over_grpc), "read": (read_http, read_grpc)}
            runs = [
                (call, door, run)
                for call, (http_run, grpc_run) in doors.items()
                for door, run in (("HTTP", http_run), ("gRPC", grpc_run))
            ]
            for call, door, run in runs:  # warm-up, not reported
                measure(call, door, pid, 1, workload(call, 20), run)
            rows = [
                measure(call, door, pid, callers, workload(call, args.requests), run)
                for callers in (1, args.concurrency)
                for call, door, run in runs
            ]
    print(
        f"one `sunap serve` (pid {pid}), {args.requests} calls per run, "
        f"database {args.database or 'SQLite (embedded default)'}"
    )
    print("| call | door | callers | calls | calls/s | p50 ms | p99 ms | server CPU ms/call |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for figures in rows:
        print(figures.row())


if __name__ == "__main__":
    main()
