"""`make bench-scale`: look-ups and pages at 10 thousand payments and at a million.

    .venv/bin/python bench/scale.py [--backends sqlite,postgresql] [--small 10000]
                                    [--large 1000000] [--seconds 5] [--no-write]

One tenant's payments are bulk-filled (bench/fill_payments.py) into a fresh database of each
backend; a `sunap serve` (embedded sandbox; no Toss call is made) answers wrk at 8 connections:
GET /v1/payments/{id} of random payments, the first page, a page deep in the cursor chain, and
a page filtered by status. The same requests run at the small size, then again once the table
holds the large size. Prints p50 per call and the ratio, and writes it to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import fill_payments  # noqa: E402
import load  # noqa: E402
from sqlalchemy import select  # noqa: E402

from sunap.adapters.sql.engine import create_engine  # noqa: E402
from sunap.adapters.sql.tables import tenants  # noqa: E402

BEGIN, END = "<!-- bench/scale.py: begin -->", "<!-- bench/scale.py: end -->"
CONNECTIONS = 8


async def tenant_id(url: str, name: str) -> str:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return str(await conn.scalar(select(tenants.c.id).where(tenants.c.name == name)))
    finally:
        await engine.dispose()


def paths(api: httpx.Client) -> dict[str, list[str]]:
    """What each call asks for: ids of the newest payments, and a cursor from deep in the table."""
    first = api.get("/v1/payments", params={"limit": 100}).json()
    cursor = first["nextCursor"]
    for _ in range(20):  # 2,000 payments in: a cursor no cache keeps warm
        cursor = api.get("/v1/payments", params={"limit": 100, "cursor": cursor}).json()[
            "nextCursor"
        ]
    ids = [p["id"] for p in first["items"]]
    return {
        "GET /v1/payments/{id}": [f"/v1/payments/{i}" for i in random.sample(ids, 50)],
        "first page (20)": ["/v1/payments?limit=20"],
        "page 2,000 payments deep (20)": [f"/v1/payments?limit=20&cursor={cursor}"],
        "page of READY (20)": ["/v1/payments?limit=20&status=READY"],
    }


def measure(
    serve: load.Process, key: str, calls: dict[str, list[str]], seconds: float, workdir: Path
) -> dict[str, load.Run]:
    return {
        name: load.wrk(
            serve.url,
            "get_items.lua",
            seconds=seconds,
            connections=CONNECTIONS,
            watch=[serve],
            env={"BENCH_AUTH": f"Bearer {key}", "BENCH_ITEMS": load.items_file(items, workdir)},
        )
        for name, items in calls.items()
    }


def bench_backend(backend: str, args: argparse.Namespace, workdir: Path) -> list[str]:
    url = load.create_database(backend, workdir)
    port = load.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUNAP_", "TOSS_"))}
    env.update(
        SUNAP_DATABASE_URL=url,
        SUNAP_PORT=str(port),
        SUNAP_GRPC_PORT="0",
        SUNAP_RATE_LIMIT="off",
        SUNAP_LOG_LEVEL="WARNING",
        SUNAP_SECRETS_KEY="bW9jay1rZXktZm9yLXRlc3RzLW9ubHktMzJieXRlcyE=",
        # The fill's READY payments reach back years: expiring them (a day, by default) would
        # change the table under the measurement and spend the server's CPU on it.
        SUNAP_READY_TTL_SECONDS=str(100 * 365 * 86400),
    )
    lines = []
    try:
        subprocess.run([*load.SUNAP, "migrate"], env=env, check=True, capture_output=True)
        key = subprocess.run(
            [*load.SUNAP, "keys", "create", "--tenant", "scale", "--scope", "admin"],
            env=env, check=True, capture_output=True, text=True,
        ).stdout.strip().splitlines()[-1]  # fmt: skip
        tenant = asyncio.run(tenant_id(url, "scale"))
        filled = asyncio.run(fill_payments.fill(url, tenant, args.small))
        lines.append(f"{backend}: {args.small:,} payments filled in {filled:.1f} s")
        base = f"http://127.0.0.1:{port}"
        log = workdir / f"serve-scale-{backend}.log"
        auth = {"Authorization": f"Bearer {key}"}
        with (
            load.started(f"serve {backend}", [*load.SUNAP, "serve"], env, base, log) as serve,
            httpx.Client(base_url=base, headers=auth, timeout=60) as api,
        ):
            small = measure(serve, key, paths(api), args.seconds, workdir)
            started = time.monotonic()
            asyncio.run(fill_payments.fill(url, tenant, args.large - args.small))
            lines.append(
                f"{backend}: {args.large - args.small:,} more filled in "
                f"{time.monotonic() - started:.1f} s"
            )
            large = measure(serve, key, paths(api), args.seconds, workdir)
        rows = [
            f"| {backend} | {name} | {small[name].p50_ms:.2f} | {large[name].p50_ms:.2f} | "
            f"{large[name].p50_ms / small[name].p50_ms:.2f}× | {small[name].cpu_ms[serve.name]:.2f}"
            f" | {large[name].cpu_ms[serve.name]:.2f} |"
            for name in small
        ]
        return rows + [""] + [f"- {line}" for line in lines]
    finally:
        load.drop_database(url)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    at = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    head = [
        f"| backend | call | p50 ms at {args.small:,} | p50 ms at {args.large:,} | ratio | "
        f"CPU ms/req at {args.small:,} | CPU ms/req at {args.large:,} |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    body: list[str] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="sunap-scale-") as tmp:
        for backend in args.backends.split(","):
            rows = bench_backend(backend, args, Path(tmp))
            cut = rows.index("")
            body += rows[:cut]
            notes += rows[cut + 1 :]
    text = "\n".join(
        [
            *head,
            *body,
            "",
            f"Measured {at} with `bench/scale.py --small {args.small} --large {args.large} "
            f"--seconds {args.seconds:g}` (wrk, {CONNECTIONS} connections, one tenant).",
            *notes,
        ]
    )
    print(text)
    if not args.no_write:
        old = load.RESULTS.read_text()
        section = f"{BEGIN}\n{text}\n{END}"
        if BEGIN in old:
            old = old[: old.index(BEGIN)] + section + old[old.index(END) + len(END) :]
        else:
            old = (
                old.replace(load.END, f"{load.END}\n\n{section}", 1)
                if load.END in old
                else (f"{section}\n\n{old}")
            )
        load.RESULTS.write_text(old)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
