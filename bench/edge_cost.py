"""The CPU each request pays for the limits at the edge, with and without them.

Requests are ASGI calls made in-process (no sockets, no database), so what is timed is the
code under test and nothing else; each figure is CPU time per request, the best of `--rounds`
rounds in which the variants take turns.

- middleware: BodyLimit and ErrorBoundary around an app that reads the body and answers 200,
  against the bare app (a body with a Content-Length, and a chunked one);
- route: a FastAPI app whose endpoint takes the create-payment body, with StrictRoute (strict
  JSON, path and query checked) against FastAPI's own APIRoute;
- parser: loads_strict against json.loads, on a create body and on a body near the 64 KiB limit;
- rate limiter: one RateLimiter.take among 1,000 keys.

    .venv/bin/python bench/edge_cost.py [--requests 5000] [--rounds 40]

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
from sunap.entrypoints.http.strict_input import (  # noqa: E402
    StrictRequest,
    StrictRoute,
    refuse_control_characters,
)
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


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


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


def best_of(rounds: int, *variants: Callable[[], float]) -> list[float]:
    """Each variant's best CPU seconds per call; the variants take turns round after round, so
    that a busy spell on the machine falls on all of them alike."""
    best = [float("inf")] * len(variants)
    for _ in range(rounds):
        for i, measure in enumerate(variants):
            best[i] = min(best[i], measure())
    return best


def calls(run: Callable[[], object], n: int) -> Callable[[], float]:
    def measure() -> float:
        started = time.process_time()
        for _ in range(n):
            run()
        return (time.process_time() - started) / n

    return measure


def requests(
    loop: asyncio.AbstractEventLoop, app: Any, scope: Scope, body: bytes, n: int
) -> Callable[[], float]:
    async def batch() -> None:
        for _ in range(n):
            status = await call(app, scope, body)
            assert status == 200, status

    def measure() -> float:
        started = time.process_time()
        loop.run_until_complete(batch())
        return (time.process_time() - started) / n

    return measure


def row(name: str, without: float, with_: float) -> str:
    added = with_ - without
    share = f"{100 * added / without:+.0f}%" if without else ""
    return f"| {name} | {without * 1e6:.1f} | {with_ * 1e6:.1f} | {added * 1e6:+.1f} | {share} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    n, rounds = args.requests, args.rounds

    loop = asyncio.new_event_loop()
    print("| per request | without µs | with µs | added µs | added |")
    print("|---|---:|---:|---:|---:|")
    declared = scope_for("/v1/payments", CREATE_BODY)
    chunked = scope_for("/v1/payments", CREATE_BODY, chunked=True)
    for name, scope in (("middleware, Content-Length", declared), ("middleware, chunked", chunked)):
        bare = requests(loop, reads_body, scope, CREATE_BODY, n)
        limited = requests(loop, guarded(reads_body), scope, CREATE_BODY, n)
        print(row(name, *best_of(rounds, bare, limited)))

    route = scope_for("/v1/payments/pay_0001", CREATE_BODY, query=b"expand=%20x")
    plain = requests(loop, fastapi_app(APIRoute), route, CREATE_BODY, n // 25)
    strict = requests(loop, fastapi_app(StrictRoute), route, CREATE_BODY, n // 25)
    edge = requests(loop, guarded(fastapi_app(StrictRoute)), route, CREATE_BODY, n // 25)
    without, with_route, with_all = best_of(rounds, plain, strict, edge)
    print(row("FastAPI route with the create body, StrictRoute", without, with_route))
    print(row("the same, with the middleware too", without, with_all))
    loop.close()

    checked = StrictRequest(route, _no_body)
    (check,) = best_of(rounds, calls(lambda: refuse_control_characters(checked), n))
    print(
        f"| path and query checked for control characters | | {check * 1e6:.2f} | {check * 1e6:+.2f} | |"
    )

    big = BIG_BODY.encode()
    plain_parse = calls(lambda: json.loads(CREATE_BODY), n)
    strict_parse = calls(lambda: loads_strict(CREATE_BODY), n)
    print(row("parse the create body", *best_of(rounds, plain_parse, strict_parse)))
    plain_big = calls(lambda: json.loads(big), n // 200)
    strict_big = calls(lambda: loads_strict(big), n // 200)
    print(row(f"parse a {len(big) // 1024} KiB body", *best_of(rounds, plain_big, strict_big)))

    limiter = RateLimiter(rate=100, burst=200)
    keys = [f"key_{k:04d}" for k in range(1000)]
    counter = iter(range(10**12))
    (take,) = best_of(rounds, calls(lambda: limiter.take(keys[next(counter) % 1000]), n))
    print(f"| rate limiter, one take among 1,000 keys | | {take * 1e6:.2f} | {take * 1e6:+.2f} | |")


if __name__ == "__main__":
    main()
