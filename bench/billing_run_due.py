"""How many renewals per second one `sunap billing run-due` pass makes.

A real `sunap serve` (own SQLite, embedded Toss sandbox) holds N monthly subscriptions; one
`sunap billing run-due --at <after their period end>` process renews them all, one Toss charge
each, two short transactions around every charge. Timed: the whole command (process start
included) and the pass alone (from the first to the last charge's claim, read from the payments).

    .venv/bin/python bench/billing_run_due.py [--subscriptions 50]

A measurement, not a test: it prints numbers and asserts nothing about time.
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tests.e2e.billing_flows import active_subscription, after  # noqa: E402
from tests.support.service import SUNAP, running_service  # noqa: E402

# What a pass should sustain on an idle 2-core machine; below it, look at what changed.
FLOOR_RENEWALS_PER_SECOND = 20.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscriptions", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, running_service(Path(tmp)) as service:
        key = service.create_key("bench", "billing")
        with (
            service.client(key) as api,
            httpx.Client(base_url=service.sandbox_url, timeout=30) as sandbox,
        ):
            subs = [active_subscription(api, sandbox) for _ in range(args.subscriptions)]
        at = after(max(s["currentPeriodEnd"] for s in subs), minutes=1).isoformat()
        started = time.monotonic()
        done = subprocess.run(
            [*SUNAP, "billing", "run-due", "--at", at],
            env=service.env,
            cwd=service.workdir,
            capture_output=True,
            check=True,
        )
        whole = time.monotonic() - started
        summary = done.stdout.decode().strip().splitlines()[-1]
        with closing(sqlite3.connect(Path(tmp) / "sunap.db")) as db:
            first, last = db.execute(
                "SELECT min(updated_at), max(updated_at) FROM payments WHERE order_id LIKE '%-p1-a1'"
            ).fetchone()
    renewed = summary.split(":")[-1].strip()
    span = (datetime.fromisoformat(last) - datetime.fromisoformat(first)).total_seconds()
    print(f"subscriptions: {args.subscriptions}  run-due: {renewed}")
    print(f"whole command: {whole:.2f} s  ({args.subscriptions / whole:.1f} renewals/s)")
    rate = (args.subscriptions - 1) / span if span > 0 else float("inf")
    print(
        f"the pass alone: {span:.2f} s  ({rate:.1f} renewals/s; floor {FLOOR_RENEWALS_PER_SECOND})"
    )


if __name__ == "__main__":
    main()
