"""The CPU a confirm costs the service with its observability on, and with it off.

Two real servers over HTTP, each in its own process, both calling one standalone Toss sandbox (a
third process, so its work is not counted), on their own SQLite files:

- observed: as shipped, with SUNAP_LOG_FORMAT=json at INFO: request ids, the HTTP, payment, Toss
  and webhook metrics, JSON log lines with their context;
- bare: the same app with the request-observation middleware taken out, the metric hooks made
  no-ops and logging at WARNING (no log lines on a confirm).

A round creates and confirms `--confirms` payments against each server in turn; the figure is
the server process's CPU (user + system, from /proc) per create+confirm pair, the median of
`--rounds` rounds, and the overhead is observed/bare - 1. The ceiling is 10%.

On a shared machine rounds differ by more than the overhead itself, so the pieces are also timed
on their own, in-process (best of 20 rounds): the middleware around two requests, the metric hooks
of a create and a confirm, and the JSON log lines the observed server wrote per pair (counted
from its log). Their sum against the bare CPU per pair is the steadier figure.

    .venv/bin/python bench/observability_overhead.py [--confirms 100] [--rounds 5]

A measurement, not a test: it prints numbers and asserts nothing about time.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
SUNAP = [sys.executable, "-m", "sunap.cli"]
SANDBOX_KEY = "test_sk_bench_observability"
CEILING = 0.10
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited early")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def serve(variant: str, port: int) -> None:
    """Runs in the server process: the app as `sunap serve` builds it, observed or bare."""
    sys.path.insert(0, str(ROOT / "src"))
    import uvicorn

    from sunap.bootstrap import build_app
    from sunap.config import Settings
    from sunap.entrypoints.http.request_observation import RequestObservation
    from sunap.entrypoints.log_format import configure_logging
    from sunap.entrypoints.metrics import Metrics

    settings = Settings()
    configure_logging("INFO" if variant == "observed" else "WARNING", settings.log_format)
    if variant == "bare":  # before the app is built, so that nothing holds the real hooks
        for hook in ("payments_committed", "toss_call_ended", "webhook_delivery"):
            setattr(Metrics, hook, lambda *args, **kwargs: None)
    app = build_app(settings, self_url=f"http://127.0.0.1:{port}")
    if variant == "bare":
        app.user_middleware = [m for m in app.user_middleware if m.cls is not RequestObservation]
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False)


class Server:
    def __init__(self, variant: str, workdir: Path, sandbox_url: str) -> None:
        self.variant = variant
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        database = f"sqlite+aiosqlite:///{workdir / (variant + '.db')}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SUNAP_", "TOSS_"))},
            "SUNAP_DATABASE_URL": database,
            "TOSS_SECRET_KEY": SANDBOX_KEY,
            "TOSS_API_BASE_URL": sandbox_url,
            "SUNAP_LOG_FORMAT": "json" if variant == "observed" else "text",
            "SUNAP_RATE_LIMIT": "off",
            "PYTHONPATH": str(ROOT / "src"),
        }
        subprocess.run([*SUNAP, "migrate"], env=self.env, check=True, capture_output=True)
        keys = [*SUNAP, "keys", "create", "--tenant", "bench", "--scope", "payments:write"]
        out = subprocess.run(keys, env=self.env, check=True, capture_output=True)
        self.key = out.stdout.decode().strip().splitlines()[-1]
        self.log = (workdir / f"{variant}.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", variant, "--port", str(self.port)],
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_up(f"{self.url}/healthz", self.process)

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(15)
        self.log.close()


def confirm_round(server: Server, sandbox: httpx.Client, count: int) -> float:
    """CPU seconds of the server per create+confirm, over `count` of them."""
    headers = {"Authorization": f"Bearer {server.key}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as api:
        windows = []
        for _ in range(count):  # the customer's part, in the sandbox, before the clock starts
            order = f"bench-{uuid.uuid4().hex[:16]}"
            windows.append(
                (order, sandbox.post("/sandbox/payments", json={"orderId": order, "amount": 1000}))
            )
        start = cpu_seconds(server.process.pid)
        for order, window in windows:
            created = api.post(
                "/v1/payments", json={"orderId": order, "orderName": "bench", "amount": 1000}
            )
            assert created.status_code == 201, created.text
            body = {"paymentKey": window.json()["paymentKey"], "orderId": order, "amount": 1000}
            confirmed = api.post("/v1/payments/confirm", json=body)
            assert confirmed.status_code == 200, confirmed.text
        return (cpu_seconds(server.process.pid) - start) / count


def best_of(rounds: int, repeat: int, work: Callable[[], object]) -> float:
    """CPU seconds per call of `work`, the best of `rounds` rounds of `repeat` calls."""
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(repeat):
            work()
        best = min(best, (time.process_time() - start) / repeat)
    return best


def component_costs(log_lines_per_pair: float) -> dict[str, float]:
    """CPU seconds per create+confirm pair of each observability piece, timed in-process."""
    sys.path.insert(0, str(ROOT / "src"))
    from datetime import UTC, datetime

    from sunap.application import log_context
    from sunap.application.ports.gateway import PgOperation, PgOutcome
    from sunap.domain.payment import Approval, Payment, PaymentMethod, PaymentStatus
    from sunap.entrypoints.http.request_observation import RequestObservation
    from sunap.entrypoints.log_format import ContextFilter, JsonLineFormatter
    from sunap.entrypoints.metrics import Metrics

    metrics = Metrics()

    async def bare_app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    observed_app = RequestObservation(bare_app, metrics)

    async def sent(message: Any) -> None:
        return None

    async def received() -> Any:
        return {"type": "http.request", "body": b""}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/payments/confirm",
        "headers": [(b"x-request-id", b"bench-0001")],
    }

    def two_requests(app: Any) -> Callable[[], None]:
        def run() -> None:
            for _ in range(2):
                coroutine = app(dict(scope), received, sent)
                with contextlib.suppress(StopIteration):  # it never waits: one step ends it
                    coroutine.send(None)

        return run

    now = datetime.now(UTC)
    payment = Payment.create(
        id="pay_bench",
        tenant_id="ten_bench",
        pg_account_id="default",
        order_id="order-bench",
        order_name="bench",
        amount=1000,
        currency="KRW",
        now=now,
    )
    payment.begin_confirm(payment_key="pk", amount=1000, idempotency_key="ik", now=now)
    payment.approve(
        Approval(
            payment_key="pk",
            status=PaymentStatus.DONE,
            method=PaymentMethod.CARD,
            approved_at=now,
        ),
        now,
    )

    def metric_hooks() -> None:
        metrics.payments_committed([payment])  # created + approved
        metrics.toss_call_ended(PgOperation.CONFIRM, PgOutcome.OK, 0.05)

    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(JsonLineFormatter())
    handler.addFilter(ContextFilter())
    logger = logging.getLogger("bench.observability")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    def log_line() -> None:
        with log_context.scope(request_id="bench-0001", tenant="ten_bench"):
            log_context.bind(payment_id="pay_bench", toss_trace_id="trace-bench")
            logger.info(
                "toss %s %s %s -> status=%s code=%s outcome=%s ms=%d attempt=%d",
                "confirm",
                "POST",
                "/v1/payments/confirm",
                200,
                "-",
                "ok",
                41,
                1,
            )

    middleware = best_of(20, 2000, two_requests(observed_app)) - best_of(
        20, 2000, two_requests(bare_app)
    )
    return {
        "request-id and HTTP metrics middleware, 2 requests": max(middleware, 0.0),
        "payment and Toss metric hooks": best_of(20, 2000, metric_hooks),
        f"JSON log lines ({log_lines_per_pair:.1f} per pair)": best_of(20, 2000, log_line)
        * log_lines_per_pair,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--confirms", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--serve", choices=("observed", "bare"))
    parser.add_argument("--port", type=int)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        sandbox_port = free_port()
        sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        sandbox_process = subprocess.Popen(
            [*SUNAP, "sandbox", "--port", str(sandbox_port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        servers: list[Server] = []
        lines_per_pair = 0.0
        try:
            wait_up(f"{sandbox_url}/sandbox/calls", sandbox_process)
            servers = [Server(v, workdir, sandbox_url) for v in ("bare", "observed")]
            figures: dict[str, list[float]] = {s.variant: [] for s in servers}
            with httpx.Client(base_url=sandbox_url, timeout=60) as sandbox:
                for server in servers:  # warm-up: imports, caches, connection pools
                    confirm_round(server, sandbox, 10)
                for _ in range(args.rounds):
                    for server in servers:
                        figures[server.variant].append(
                            confirm_round(server, sandbox, args.confirms)
                        )
            pairs = 10 + args.rounds * args.confirms
            logged = (workdir / "observed.log").read_text(errors="replace").count("\n{")
            lines_per_pair = logged / pairs
        finally:
            for server in servers:
                server.close()
            sandbox_process.terminate()
            sandbox_process.wait(15)

    bare = statistics.median(figures["bare"])
    observed = statistics.median(figures["observed"])
    overhead = observed / bare - 1
    print(f"{args.rounds} rounds of {args.confirms} create+confirm pairs, server CPU per pair")
    print(f"  bare (no request ids, no metrics, WARNING text logs): {bare * 1000:7.2f} ms")
    print(f"  observed (metrics, request ids, JSON logs at INFO):  {observed * 1000:7.2f} ms")
    print(f"  overhead: {overhead:+.1%} (ceiling {CEILING:.0%})")
    pieces = component_costs(lines_per_pair)
    print("the pieces on their own, CPU per pair (in-process, best of 20 rounds):")
    for name, seconds in pieces.items():
        print(f"  {name}: {seconds * 1e6:7.1f} µs")
    added = sum(pieces.values())
    print(
        f"  total {added * 1e6:.1f} µs = {added / bare:.2%} of the bare pair (ceiling {CEILING:.0%})"
    )
    print(
        "  rounds, ms: bare "
        + " ".join(f"{x * 1000:.2f}" for x in figures["bare"])
        + " | observed "
        + " ".join(f"{x * 1000:.2f}" for x in figures["observed"])
    )


if __name__ == "__main__":
    main()
