"""What the transport costs per Toss call as calls run side by side: httpx's own (httpcore's pool
on anyio) beside the one Toss calls go out on (`sunap_toss.http11`: HTTP/1.1 on asyncio).

    .venv/bin/python bench/toss_pool_cost.py [--calls 4000] [--rounds 3]

Look-ups of an order nobody used (a 404) against a `sunap sandbox` process on loopback, N at a
time, on uvloop as `sunap serve` runs. The figure is the CPU of this process per call
(`time.process_time`: the sandbox's own work is in another process and not counted), the median
of `--rounds` rounds taken in turn, so both transports see the same machine. The httpx client
above the transport is the same in both columns: the difference is the transport's alone.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import uvloop
from bench.toss_client_overhead import sandbox_process

from sunap_toss.http11 import Http11Transport
from tests.support.sandbox_server import SANDBOX_SECRET_KEY

CONCURRENCY = (1, 8, 32, 64)
Factory = Callable[[httpx.Limits], httpx.AsyncBaseTransport]
POOLS: dict[str, Factory] = {
    "httpcore's pool": lambda limits: httpx.AsyncHTTPTransport(limits=limits),
    "Sunap's transport": Http11Transport,
}


async def cpu_ms_per_call(url: str, make: Factory, concurrency: int, calls: int) -> float:
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(
        transport=make(limits), base_url=url, auth=(SANDBOX_SECRET_KEY, ""), timeout=30
    ) as client:

        async def caller(count: int) -> None:
            for _ in range(count):
                await client.get("/v1/payments/orders/order-nobody-used")

        await asyncio.gather(*(caller(5) for _ in range(concurrency)))  # open the connections
        per_caller = max(1, calls // concurrency)
        started = time.process_time()
        await asyncio.gather(*(caller(per_caller) for _ in range(concurrency)))
        return (time.process_time() - started) / (per_caller * concurrency) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    process, url = sandbox_process()
    figures: dict[tuple[str, int], list[float]] = {}
    try:
        for _ in range(args.rounds):
            for concurrency in CONCURRENCY:
                for name, make in POOLS.items():
                    figure = uvloop.run(cpu_ms_per_call(url, make, concurrency, args.calls))
                    figures.setdefault((name, concurrency), []).append(figure)
    finally:
        process.terminate()
        process.wait()
    print("| calls at once | " + " | ".join(f"{n}: CPU ms/call" for n in POOLS) + " |")
    print("|---:|" + "---:|" * len(POOLS))
    for concurrency in CONCURRENCY:
        cells = [f"{statistics.median(figures[(n, concurrency)]):.3f}" for n in POOLS]
        print(f"| {concurrency} | " + " | ".join(cells) + " |")
    print(
        f"\nMedian of {args.rounds} rounds of {args.calls} look-ups each, measured "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; the same httpx client above both."
    )


if __name__ == "__main__":
    main()
