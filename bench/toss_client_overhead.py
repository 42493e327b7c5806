"""What the Toss client costs per call on top of the HTTP round trip, and what a failed import
per call cost before sunap-toss depended on sniffio.

    .venv/bin/python bench/toss_client_overhead.py

1. Look-ups through `AsyncTossClient` against a `sunap sandbox` process on loopback: calls per
   second and mean milliseconds per call, warm pool (the sandbox's own work is in the figure).
2. httpcore's `current_async_library()`, called several times per async request: a few µs with
   sniffio installed; run it after `pip uninstall sniffio` to see what every request paid before
   (a search of sys.path for a module that is not there).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from httpcore._synchronization import current_async_library

from sunap_toss import AsyncTossClient, TossNotFound
from tests.support.sandbox_server import SANDBOX_SECRET_KEY
from tests.support.service import free_port

CALLS = 500
LOOKUPS = 20_000
CEILING_MS_PER_CALL = 20.0  # a loopback look-up on a loaded 2-CPU machine stays under this


async def lookups(url: str) -> list[float]:
    async with AsyncTossClient(secret_key=SANDBOX_SECRET_KEY, base_url=url) as toss:
        times = []
        for n in range(CALLS + 20):
            started = time.perf_counter()
            with contextlib.suppress(TossNotFound):
                await toss.get_payment_by_order_id("order-nobody-used")
            if n >= 20:  # the first calls open the pool
                times.append(time.perf_counter() - started)
        return times


async def library_lookups() -> float:
    started = time.perf_counter()
    for _ in range(LOOKUPS):
        current_async_library()
    return (time.perf_counter() - started) / LOOKUPS * 1e6


def sandbox_process() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    sunap = str(Path(sys.executable).parent / "sunap")
    process = subprocess.Popen(
        [sunap, "sandbox", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/sandbox/clock", timeout=1).raise_for_status()
            return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the sandbox did not start")


def main() -> None:
    process, url = sandbox_process()
    try:
        times = asyncio.run(lookups(url))
    finally:
        process.terminate()
        process.wait()
    mean_ms = statistics.fmean(times) * 1000
    print(
        f"AsyncTossClient look-ups on loopback: {len(times) / sum(times):,.0f} calls/s, "
        f"mean {mean_ms:.2f} ms, p95 {sorted(times)[int(len(times) * 0.95)] * 1000:.2f} ms "
        f"(ceiling {CEILING_MS_PER_CALL} ms)"
    )
    per_call = asyncio.run(library_lookups())
    where = "installed" if importlib.util.find_spec("sniffio") else "MISSING: a failed import each"
    print(f"httpcore current_async_library(): {per_call:.2f} µs a call (sniffio {where})")


if __name__ == "__main__":
    main()
