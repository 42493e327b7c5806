"""The CPU each request pays for the limits at the edge, with and without them.

Requests are ASGI calls made in-process (no sockets, no database), so what is timed is the
code under test and nothing else; each figure is CPU time per request, the best of `--rounds`.

- middleware: BodyLimit and ErrorBoundary around an app that reads the body and answers 200,
  against the bare app (a body with a Content-Length, and a chunked one);
- route: a FastAPI app whose endpoint takes the create-payment body, with StrictRoute (strict
  JSON, path and query checked) against FastAPI's own APIRoute;
- parser: loads_strict against json.loads, on a create body and on a body near the 64 KiB limit;
- rate limiter: one RateLimiter.take among 1,000 keys.

    .venv/bin/python bench/edge_cost.py [--requests 20000] [--rounds 5]

A measurement, not a test: it prints numbers and asserts nothing about time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from fastapi import APIRouter, FastAPI  # noqa: E402
from fastapi.responses import JSONResponse  # noqa: E402
from fastapi.routing import APIRoute  # noqa: E402
from starlette.types import Message, Receive, Scope, Send  # noqa: E402

from sunap.application.strict_json import loads_strict  # noqa: E402
from sunap.entrypoints.http.body_limit import BodyLimit  # noqa: E402
from sunap.entrypoints.http.error_boundary import ErrorBoundary  # noqa: E402
from sunap.entrypoints.http.errors import install_error_handlers  # noqa: E402
from sunap.entrypoints.http.schemas import CreatePaymentBody  # noqa: E402
from sunap.entrypoints.http.strict_input import StrictRoute  # noqa: E402
from sunap.entrypoints.rate_limit import RateLimiter  # noqa: E402

CREATE_BODY = json.dumps(
    {
        "orderName": "생수 외 1건",
        "amount": 15000,
        "orderId": "order-20260301-000123",
        "customerKey": "cust-0001",
        "successUrl": "https://shop.example/pay/success",
        "failUrl": "https://shop.example/pay/fail",
        "metadata": {"cart": "42", "note": "문 앞에 놓아주세요"},
    },
    ensure_ascii=False,
).encode()
BIG_BODY = json.dumps({"items": [{"sku": f"sku-{n:05d}", "name": "상품"} for n in range(1350)]})


def scope_for(path: str, body: bytes, *, chunked: bool = False, query: bytes = b"") -> Scope:
    headers = [(b"host", b"bench"), (b"content-type", b"application/json")]
    if not chunked:
        headers.append((b"content-length", str(len(body)).encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query,
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8087),
    }


async def call(app: Any, scope: Scope, body: bytes) -> int:
    sent = False
    status = 0

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(dict(scope), receive, send)
    return status


async def reads_body(scope: Scope, receive: Receive, send: Send) -> None:
    """The bare app: read the whole body, answer 200."""
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def guarded(app: Any) -> Any:
    limited = BodyLimit(app, limit=64 * 1024, by_prefix={"/v1/webhooks/": 256 * 1024})
    return ErrorBoundary(limited, is_outage=lambda _error: False)


def fastapi_app(route_class: type[APIRoute]) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    install_error_handlers(app)
    router = APIRouter(route_class=route_class)

    @router.post("/v1/payments/{payment_id}")
    async def create(payment_id: str, body: CreatePaymentBody) -> JSONResponse:
        return JSONResponse({"id": payment_id, "amount": body.amount})

    app.include_router(router)
    return app


def cpu_per_call(run: Callable[[], object], n: int, rounds: int) -> float:
    """Best CPU seconds per call over `rounds` runs of `n` calls."""
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(n):
            run()
        best = min(best, (time.process_time() - started) / n)
    return best


def cpu_per_request(
    app: Any, scope: Scope, body: bytes, n: int, rounds: int, expect: int = 200
) -> float:
    async def batch() -> None:
        for _ in range(n):
            status = await call(app, scope, body)
            assert status == expect, status

    loop = asyncio.new_event_loop()
    try:
        best = float("inf")
        for _ in range(rounds):
            started = time.process_time()
            loop.run_until_complete(batch())
            best = min(best, (time.process_time() - started) / n)
        return best
    finally:
        loop.close()


def row(name: str, without: float, with_: float) -> str:
    added = with_ - without
    share = f"{100 * added / without:+.0f}%" if without else ""
    return f"| {name} | {without * 1e6:.1f} | {with_ * 1e6:.1f} | {added * 1e6:+.1f} | {share} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    n, rounds = args.requests, args.rounds

    print("| per request | without µs | with µs | added µs | added |")
    print("|---|---:|---:|---:|---:|")
    declared = scope_for("/v1/payments", CREATE_BODY)
    chunked = scope_for("/v1/payments", CREATE_BODY, chunked=True)
    for name, scope in (("middleware, Content-Length", declared), ("middleware, chunked", chunked)):
        bare = cpu_per_request(reads_body, scope, CREATE_BODY, n, rounds)
        limited = cpu_per_request(guarded(reads_body), scope, CREATE_BODY, n, rounds)
        print(row(name, bare, limited))

    route_scope = scope_for("/v1/payments/pay_0001", CREATE_BODY, query=b"expand=%20x")
    plain = cpu_per_request(fastapi_app(APIRoute), route_scope, CREATE_BODY, n // 4, rounds)
    strict = cpu_per_request(fastapi_app(StrictRoute), route_scope, CREATE_BODY, n // 4, rounds)
    print(row("FastAPI route with the create body", plain, strict))
    both = cpu_per_request(
        guarded(fastapi_app(StrictRoute)), route_scope, CREATE_BODY, n // 4, rounds
    )
    print(row("the same, all edge limits together", plain, both))

    big = BIG_BODY.encode()
    print(
        row(
            "parse the create body",
            cpu_per_call(lambda: json.loads(CREATE_BODY), n, rounds),
            cpu_per_call(lambda: loads_strict(CREATE_BODY), n, rounds),
        )
    )
    print(
        row(
            f"parse a {len(big) // 1024} KiB body",
            cpu_per_call(lambda: json.loads(big), n // 100, rounds),
            cpu_per_call(lambda: loads_strict(big), n // 100, rounds),
        )
    )

    limiter = RateLimiter(rate=100, burst=200)
    keys = [f"key_{k:04d}" for k in range(1000)]
    counter = iter(range(10**12))
    take = cpu_per_call(lambda: limiter.take(keys[next(counter) % 1000]), n, rounds)
    print(f"| rate limiter, one take among 1,000 keys | | {take * 1e6:.2f} | {take * 1e6:+.2f} | |")


if __name__ == "__main__":
    main()
