"""How long the reconciler takes to settle a confirm whose answer we lost.

A real `sunap serve` (own SQLite) and a Toss sandbox on loopback, the service run with the
production schedule by default (first check 5 s after the claim, workers polling every 1 s).
Two cases, each timed from the moment the shop got its answer (or the service was back up) to
the moment `GET /v1/payments/{id}` shows DONE:

- lost: every attempt of the confirm has its connection dropped (502 PG_UNAVAILABLE); the
  reconciler looks the order up and replays the confirm with its own key.
- crash: Toss applied the confirm, the service is killed (-9) before recording it and started
  again; the reconciler looks the order up and adopts DONE.

    .venv/bin/python bench/reconcile_latency.py [--runs 5] [--delays 5,10,20] [--poll 1.0]

A measurement, not a test: it prints numbers and asserts nothing about time.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tests.integration.reliability.stack import CONFIRM_PATH, Stack, running_stack  # noqa: E402

PRODUCTION_DELAYS = "5,10,20,40,120,600,3600,21600,86400"


def until_done(stack: Stack, payment_id: str, timeout: float = 120) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if stack.payment(payment_id)["status"] == "DONE":
            return time.monotonic() - started
        time.sleep(0.05)
    raise RuntimeError(f"payment {payment_id} not settled in {timeout}s")


def lost_answer(stack: Stack) -> float:
    payment = stack.new_payment(10000)
    payment_key = stack.pay_in_window(payment)
    stack.fault(path=CONFIRM_PATH, times=3, dropConnection=True)
    assert stack.confirm(payment, payment_key).status_code == 502
    return until_done(stack, payment["id"])


def crash_after_toss_applied(stack: Stack) -> float:
    payment = stack.new_payment(10000)
    payment_key = stack.pay_in_window(payment)
    stack.fault(path=CONFIRM_PATH, afterApply=True, delayMs=3000)

    def send() -> None:
        with contextlib.suppress(httpx.TransportError):  # the service dies under it
            stack.confirm(payment, payment_key)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    while stack.payment(payment["id"])["status"] != "IN_PROGRESS":
        time.sleep(0.02)
    time.sleep(0.3)
    stack.service.kill()
    thread.join()
    stack.service.start()
    return until_done(stack, payment["id"])


def report(name: str, seconds: list[float]) -> None:
    print(
        f"{name:<8} runs={len(seconds)} p50={statistics.median(seconds):.2f}s "
        f"min={min(seconds):.2f}s max={max(seconds):.2f}s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--delays", default=PRODUCTION_DELAYS, help="SUNAP_RECONCILE_DELAYS")
    parser.add_argument("--poll", default="1.0", help="SUNAP_WORKER_POLL_SECONDS")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as workdir,
        running_stack(
            Path(workdir),
            SUNAP_RECONCILE_DELAYS=args.delays,
            SUNAP_WORKER_POLL_SECONDS=args.poll,
            SUNAP_LOG_LEVEL="WARNING",
        ) as stack,
    ):
        print(f"reconcile delays {args.delays} s, worker poll {args.poll} s")
        report("lost", [lost_answer(stack) for _ in range(args.runs)])
        report("crash", [crash_after_toss_applied(stack) for _ in range(args.runs)])


if __name__ == "__main__":
    main()
