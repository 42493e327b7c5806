"""Latency of concurrent partial cancels on the embedded default (SQLite + in-process sandbox).

Starts a real `sunap serve`, pays a ₩20,000 payment, then fires 40 concurrent ₩1,000 cancels,
three rounds, and prints p50 and max request latency per round. Prints figures; asserts nothing.

    .venv/bin/python bench/sqlite_concurrent_cancels.py
"""

from __future__ import annotations

import concurrent.futures
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.flows import paid_payment
from tests.support.service import running_service

ROUNDS, CONCURRENT = 3, 40


def main() -> None:
    with running_service(Path(tempfile.mkdtemp())) as service:
        key = service.create_key("bench", "admin")
        for round_number in range(1, ROUNDS + 1):
            with service.client(key) as api, httpx.Client(base_url=service.sandbox_url) as toss:
                payment = paid_payment(api, toss, 20000)

            def cancel(_: int, payment_id: str = payment["id"]) -> tuple[float, int]:
                started = time.monotonic()
                with service.client(key) as client:
                    status = client.post(
                        f"/v1/payments/{payment_id}/cancel",
                        json={"cancelReason": "bench", "cancelAmount": 1000},
                    ).status_code
                return time.monotonic() - started, status

            with concurrent.futures.ThreadPoolExecutor(CONCURRENT) as pool:
                results = list(pool.map(cancel, range(CONCURRENT)))
            latencies = sorted(seconds for seconds, _ in results)
            statuses = sorted({status for _, status in results})
            print(
                f"round {round_number}: {CONCURRENT} concurrent cancels, "
                f"p50 {latencies[len(latencies) // 2]:.2f} s, max {latencies[-1]:.2f} s, "
                f"statuses {statuses}"
            )


if __name__ == "__main__":
    main()
