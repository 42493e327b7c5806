"""`make bench`: the money path under load, beside the ceiling measured in the same run.

    .venv/bin/python bench/load.py [--backends sqlite,postgresql,mariadb] [--seconds 5]
                                   [--connections 32] [--workers 2] [--no-write]

What runs, all on this machine: a standalone `sunap sandbox` standing in for Toss; `sunap serve`
(one process, then `--workers N` on PostgreSQL) on a fresh database of each backend; the ceiling,
a bare FastAPI app with a pydantic body on the same uvicorn settings (bench/ceiling_app.py); and
PostgreSQL's own pgbench (simple-update, 8 clients). The ceiling keeps running: each confirm and
GET is followed at once by the ceiling's own call, which its ratio is taken against. The load
generator is wrk with the Lua scripts in bench/wrk (a C program: it is never the bottleneck here).
`make bench` installs wrk if missing.

For each call: requests/s, p50/p99 latency, and CPU milliseconds per request of the serving
process(es) and of the sandbox (utime + stime from /proc/<pid>/stat, children included, before
and after) — the figure that stays stable on a shared machine. Every confirm and cancel is of a
fresh payment, created and paid in the sandbox's window beforehand (not timed). Prints a table
and writes it between the markers in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.databases import create_database, drop_database  # noqa: E402
from tests.support.service import free_port  # noqa: E402

PY = sys.executable
SUNAP = [PY, "-m", "sunap.cli"]
WRK_DIR = ROOT / "bench" / "wrk"
RESULTS = ROOT / "bench" / "RESULTS.md"
BEGIN, END = "<!-- bench/load.py: begin -->", "<!-- bench/load.py: end -->"
TICKS = os.sysconf("SC_CLK_TCK")
TOSS_DOC_KEY = "test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R"
SANDBOX_AUTH = "Basic dGVzdF9za196WExrS0V5cE5BcldtbzUwblgzbG1lYXhZRzVSOg=="
# Confirms sent one at a time, for the latency the service adds over the sandbox's (150 gave a
# CPU figure that moved by a tenth between runs of the same code).
ONE_AT_A_TIME = 400
# The longest a write run (a set number of fresh payments) may take, in seconds.
WRITE_RUN_CAP = 120
# How long the ceiling's call runs right after each compared call.
BESIDE_SECONDS = 3


# -- processes and their CPU -------------------------------------------------------------------
def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of one process, or None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS


def tree_cpu(root: int) -> float:
    """CPU seconds of `root` and every live descendant (uvicorn's worker processes)."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (found := _stat(int(entry.name))) is not None:
            parents[int(entry.name)], cpu[int(entry.name)] = found
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += cpu.get(pid, 0.0)
        todo += [child for child, parent in parents.items() if parent == pid]
    return total


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    url: str

    def cpu(self) -> float:
        return tree_cpu(self.popen.pid)


@contextmanager
def started(
    name: str, args: Sequence[str], env: dict[str, str], url: str, log: Path
) -> Iterator[Process]:
    with log.open("ab") as out:
        popen = subprocess.Popen(
            list(args), env=env, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent
        )
    try:
        deadline = time.monotonic() + 180  # a loaded machine starts a process slowly
        while True:
            if popen.poll() is not None:
                raise RuntimeError(f"{name} exited early:\n{log.read_text()[-3000:]}")
            try:
                httpx.get(f"{url}/healthz", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{name} did not come up:\n{log.read_text()[-3000:]}"
                    ) from None
                time.sleep(0.1)
        yield Process(name, popen, url)
    finally:
        popen.terminate()
        try:
            popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()


# -- wrk ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Run:
    requests: int
    ok: int
    bad: int
    seconds: float
    p50_ms: float
    p99_ms: float
    cpu_ms: dict[str, float]  # CPU ms per OK request, by process name

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


def wrk(
    url: str,
    script: str,
    *,
    seconds: float,
    connections: int,
    watch: Sequence[Process],
    env: dict[str, str],
) -> Run:
    threads = min(2, connections)
    idle = idle_cpu_rates(watch)
    before = {p.name: p.cpu() for p in watch}
    started_at = time.monotonic()
    done = Path(tempfile.mkdtemp(prefix="wrk-done-")) / "thread-"
    with subprocess.Popen(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "30s",
            "-s",
            str(WRK_DIR / script),
            url,
        ],
        env={**os.environ, **env, "BENCH_THREADS": str(threads), "BENCH_DONE": str(done)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as popen:
        # wrk sleeps out its whole -d even when every thread has run out of work: once all
        # have (each leaves a file), SIGINT makes it stop and print its summary at once.
        while popen.poll() is None:
            if all(Path(f"{done}{n}").exists() for n in range(threads)):
                popen.send_signal(signal.SIGINT)
                break
            time.sleep(0.02)
        stdout, stderr = popen.communicate()
    shutil.rmtree(done.parent, ignore_errors=True)
    out = subprocess.CompletedProcess(popen.args, popen.returncode, stdout, stderr)
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed:\n{out.stdout}\n{out.stderr}")
    time.sleep(0.3)  # let the servers finish what the last answers started (audit, outbox)
    after = {p.name: p.cpu() for p in watch}
    elapsed = time.monotonic() - started_at
    found = re.search(r"^\{.*\}$", out.stdout, re.MULTILINE)
    if found is None:
        raise RuntimeError(f"wrk printed no summary:\n{out.stdout}\n{out.stderr}")
    summary = json.loads(found.group(0))
    ok = max(summary["ok"], 1)
    return Run(
        requests=summary["requests"],
        ok=summary["ok"],
        bad=summary["bad"] + summary["socket_errors"],
        seconds=summary["seconds"],
        p50_ms=summary["p50_ms"],
        p99_ms=summary["p99_ms"],
        cpu_ms={
            name: max(0.0, after[name] - before[name] - idle[name] * elapsed) * 1000 / ok
            for name in before
        },
    )


def idle_cpu_rates(watch: Sequence[Process], seconds: float = 1.0) -> dict[str, float]:
    """CPU seconds per second each process spends with no request in flight (its workers
    polling the database): subtracted from a run, so that CPU per request is the request's."""
    before = {p.name: p.cpu() for p in watch}
    time.sleep(seconds)
    return {p.name: (p.cpu() - before[p.name]) / seconds for p in watch}


def items_file(lines: Sequence[str], workdir: Path) -> str:
    path = workdir / f"items-{uuid.uuid4().hex[:8]}.txt"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


# -- preparing payments (not timed) ------------------------------------------------------------
def in_parallel(work: Any, items: Sequence[Any], callers: int = 8) -> list[Any]:
    with concurrent.futures.ThreadPoolExecutor(callers) as pool:
        return list(pool.map(work, items))


def create_payments(api: httpx.Client, count: int) -> list[dict[str, Any]]:
    def one(_: int) -> dict[str, Any]:
        body = {"orderId": f"bench-{uuid.uuid4().hex[:20]}", "orderName": "bench", "amount": 15000}
        response = api.post("/v1/payments", json=body)
        response.raise_for_status()
        return dict(response.json())

    return in_parallel(one, range(count))


def pay_in_window(sandbox: httpx.Client, orders: Sequence[tuple[str, int]]) -> list[str]:
    def one(order: tuple[str, int]) -> str:
        body = {"orderId": order[0], "amount": order[1], "orderName": "bench"}
        response = sandbox.post("/sandbox/payments", json=body)
        response.raise_for_status()
        return f"{order[0]} {response.json()['paymentKey']} {order[1]}"

    return in_parallel(one, orders)


def ready_payments(api: httpx.Client) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"status": "READY", "limit": 100}
        if cursor:
            params["cursor"] = cursor
        page = api.get("/v1/payments", params=params).json()
        found += page["items"]
        cursor = page["nextCursor"]
        if not cursor:
            return found


# -- the runs ----------------------------------------------------------------------------------
@dataclass
class Row:
    what: str
    run: Run
    ceiling: str = ""
    beside: Run | None = None  # the ceiling's call, measured right after this one


class Ceiling:
    """The bare FastAPI app, running for the whole bench: each compared call (a confirm, a GET)
    is followed at once by the ceiling's own call, so that the two see the same machine as nearly
    as can be (a shared host's speed drifts within a run)."""

    def __init__(self, app: Process, args: argparse.Namespace, workdir: Path) -> None:
        self._app = app
        self._args = args
        lines = [f"order-{i:08d} pk-{i:08d} 15000" for i in range(200_000)]
        self._items = {
            "confirm": items_file(lines, workdir),
            "get": items_file(["/v1/payments/p1"], workdir),
        }

    def measure(self, kind: str, seconds: float | None = None) -> Run:
        script, extra = (
            ("post_items.lua", {"BENCH_KIND": "confirm"})
            if kind == "confirm"
            else ("get_items.lua", {})
        )
        return wrk(
            self._app.url,
            script,
            seconds=self._args.seconds if seconds is None else seconds,
            connections=self._args.connections,
            watch=[self._app],
            env={"BENCH_ITEMS": self._items[kind], **extra},
        )

    def beside(self, row: Row) -> Row:
        """`row` with the ceiling's matching call measured now."""
        if row.ceiling in ("confirm", "get"):
            row.beside = self.measure(row.ceiling, BESIDE_SECONDS)
        return row


def service_env(database_url: str, sandbox_url: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUNAP_", "TOSS_"))}
    env.update(
        SUNAP_DATABASE_URL=database_url,
        SUNAP_PORT=str(port),
        SUNAP_GRPC_PORT="0",
        SUNAP_RATE_LIMIT="off",
        SUNAP_LOG_LEVEL="WARNING",
        SUNAP_SECRETS_KEY="bW9jay1rZXktZm9yLXRlc3RzLW9ubHktMzJieXRlcyE=",
        TOSS_SECRET_KEY=TOSS_DOC_KEY,
        TOSS_API_BASE_URL=sandbox_url,
    )
    return env


def bench_backend(
    backend: str,
    sandbox: Process,
    args: argparse.Namespace,
    workdir: Path,
    serve_args: Sequence[str] = (),
    calls: Sequence[str] = (
        "create",
        "get",
        "list",
        "confirm",
        "confirm-keyed",
        "cancel",
        "confirm-1",
    ),
    ceiling: Ceiling | None = None,
) -> list[Row]:
    url = create_database(backend, workdir)
    port = free_port()
    env = service_env(url, sandbox.url, port)
    label = backend + (f" {' '.join(serve_args)}" if serve_args else "")
    try:
        subprocess.run([*SUNAP, "migrate"], env=env, check=True, capture_output=True, cwd=workdir)
        key = (
            subprocess.run(
                [*SUNAP, "keys", "create", "--tenant", "bench", "--scope", "admin"],
                env=env,
                check=True,
                capture_output=True,
                text=True,
                cwd=workdir,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        auth = {"BENCH_AUTH": f"Bearer {key}"}
        base = f"http://127.0.0.1:{port}"
        log = workdir / f"serve-{backend}-{port}.log"
        with (
            started(f"serve {label}", [*SUNAP, "serve", *serve_args], env, base, log) as serve,
            httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60
            ) as api,
            httpx.Client(base_url=sandbox.url, timeout=60) as window,
        ):
            rows = _runs(label, serve, sandbox, api, window, auth, args, workdir, calls)
            return [ceiling.beside(row) if ceiling else row for row in rows]
    finally:
        drop_database(url)


def _runs(
    label: str,
    serve: Process,
    sandbox: Process,
    api: httpx.Client,
    window: httpx.Client,
    auth: dict[str, str],
    args: argparse.Namespace,
    workdir: Path,
    calls: Sequence[str],
) -> Iterator[Row]:
    watch = [serve, sandbox]
    conns = args.connections

    def run(script: str, items: Sequence[str], connections: int = conns, **env: str) -> Run:
        # A write run ends when its fresh payments are used up (wrk's duration is only a cap).
        return wrk(
            serve.url,
            script,
            seconds=args.seconds if script == "get_items.lua" else WRITE_RUN_CAP,
            connections=connections,
            watch=watch,
            env={**auth, "BENCH_ITEMS": items_file(items, workdir), **env},
        )

    # Enough fresh payments for a run at several thousand a second; wrk stops when they run out.
    confirm_runs = [c for c in ("confirm", "confirm-keyed") if c in calls]
    pool = args.requests * max(1, len(confirm_runs)) + ONE_AT_A_TIME
    if "create" in calls:
        orders = [f"bench-{uuid.uuid4().hex[:20]}" for _ in range(args.requests + ONE_AT_A_TIME)]
        yield Row(f"create, {label}", run("post_items.lua", orders, BENCH_KIND="create"))
    ready = ready_payments(api)
    if len(ready) < pool:
        ready += create_payments(api, pool - len(ready))
    if "get" in calls:
        paths = [f"/v1/payments/{p['id']}" for p in ready[:1000]]
        yield Row(f"get, {label}", run("get_items.lua", paths), "get")
    if "list" in calls:
        yield Row(f"list (20), {label}", run("get_items.lua", ["/v1/payments?limit=20"]))
    paid = pay_in_window(window, [(p["orderId"], p["amount"]) for p in ready])
    half = len(paid) - ONE_AT_A_TIME
    # Each confirm run its own slice; `paid` is in the order of `ready`.
    share = half // max(1, len(confirm_runs))
    slices = {name: paid[i * share : (i + 1) * share] for i, name in enumerate(confirm_runs)}
    if "confirm" in calls:
        yield Row(
            f"confirm, {label}",
            run("post_items.lua", slices["confirm"], BENCH_KIND="confirm"),
            "confirm",
        )
    if "confirm-keyed" in calls:
        # As a merchant's retrying client sends it: each confirm with its own Idempotency-Key.
        yield Row(
            f"confirm with an Idempotency-Key, {label}",
            run("post_items.lua", slices["confirm-keyed"], BENCH_KIND="confirm", BENCH_KEYED="1"),
            "confirm",
        )
    if "cancel" in calls:
        # Payments a confirm run approved, as many as a write run takes.
        confirmed = ready[: share * len(confirm_runs)] if confirm_runs else ready[:half]
        done = [p["id"] for p in confirmed[: args.requests]]
        yield Row(f"cancel, {label}", run("post_items.lua", done, BENCH_KIND="cancel"))
    if "confirm-1" in calls:
        yield Row(
            f"confirm, one at a time, {label}",
            run("post_items.lua", paid[half:], connections=1, BENCH_KIND="confirm"),
            "sandbox-1",
        )


@contextmanager
def ceiling_app(args: argparse.Namespace, workdir: Path) -> Iterator[Ceiling]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    base = f"http://127.0.0.1:{port}"
    cmd = [
        PY,
        "-m",
        "uvicorn",
        "bench.ceiling_app:app",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
        *uvicorn_speedups(),
    ]
    with started("ceiling", cmd, env, base, workdir / "ceiling.log") as app:
        yield Ceiling(app, args, workdir)


def ceiling_rows(ceiling: Ceiling) -> dict[str, Row]:
    return {
        "confirm": Row(
            "ceiling: bare FastAPI, POST with a pydantic body", ceiling.measure("confirm")
        ),
        "get": Row("ceiling: bare FastAPI, GET", ceiling.measure("get")),
    }


def bench_sandbox_alone(sandbox: Process, args: argparse.Namespace, workdir: Path) -> Row:
    """The sandbox answering confirms one at a time: what Toss's own latency is in this run."""
    with httpx.Client(base_url=sandbox.url, timeout=60) as window:
        orders = [(f"alone-{uuid.uuid4().hex[:20]}", 15000) for _ in range(ONE_AT_A_TIME)]
        paid = pay_in_window(window, orders)
    run = wrk(
        sandbox.url,
        "post_items.lua",
        seconds=WRITE_RUN_CAP,
        connections=1,
        watch=[sandbox],
        env={
            "BENCH_ITEMS": items_file(paid, workdir),
            "BENCH_KIND": "confirm",
            "BENCH_AUTH": SANDBOX_AUTH,
        },
    )
    return Row("sandbox alone: a Toss confirm, one at a time", run)


def uvicorn_speedups() -> list[str]:
    """The event loop and HTTP parser `sunap serve` uses, so that the ceiling is like for like."""
    found = []
    for module, option in (
        ("uvloop", ["--loop", "uvloop"]),
        ("httptools", ["--http", "httptools"]),
    ):
        if subprocess.run([PY, "-c", f"import {module}"], capture_output=True).returncode == 0:
            found += option
    return found


def pgbench(seconds: float, workdir: Path) -> str:
    if shutil.which("pgbench") is None:
        return "pgbench not installed"
    name = f"sunap_pgbench_{uuid.uuid4().hex[:8]}"
    server = ["-h", "127.0.0.1", "-p", "5432", "-U", "postgres"]
    subprocess.run(["createdb", *server, name], check=True)
    try:
        subprocess.run(["pgbench", *server, "-i", "-q", name], check=True, capture_output=True)
        out = subprocess.run(
            ["pgbench", *server, "-N", "-c", "8", "-j", "2", "-T", str(int(seconds)), name],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        subprocess.run(["dropdb", *server, name], check=True)
    tps = re.search(r"tps = ([\d.]+)", out)
    return f"{float(tps.group(1)):,.0f} tps" if tps else "pgbench printed no tps"


# -- the table ---------------------------------------------------------------------------------
def table(rows: Sequence[Row], ceilings: dict[str, Row], extra: Sequence[str]) -> str:
    names = ["serve", "sandbox", "ceiling"]
    head = [
        "call",
        "requests/s",
        "p50 ms",
        "p99 ms",
        "CPU ms/req: sunap",
        "CPU ms/req: sandbox",
        "CPU ms/req: ceiling",
        "errors",
        "vs ceiling",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cpu = {("serve" if k.startswith("serve") else k): v for k, v in row.run.cpu_ms.items()}
        if row.beside is not None:
            cpu["ceiling"] = row.beside.cpu_ms["ceiling"]
        cells = [
            row.what,
            f"{row.run.rate:,.0f}",
            f"{row.run.p50_ms:.2f}",
            f"{row.run.p99_ms:.2f}",
            *(f"{cpu[n]:.2f}" if n in cpu else "—" for n in names),
            str(row.run.bad),
            _versus(row, cpu, ceilings),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join([*lines, "", *extra])


def _versus(row: Row, cpu: dict[str, float], ceilings: dict[str, Row]) -> str:
    if row.ceiling in ("confirm", "get") and "serve" in cpu:
        beside = row.beside or ceilings[row.ceiling].run  # measured right after, when it was
        floor = beside.cpu_ms["ceiling"]
        versus = f"{cpu['serve'] / floor:.1f}× the ceiling's CPU"
        if cpu.get("sandbox", 0) > 0.05:  # a confirm: the sandbox did its part of the same calls
            versus += f"; {cpu['serve'] / cpu['sandbox']:.1f}× the sandbox's"
        return versus
    if row.ceiling == "sandbox-1" and "sandbox-1" in ceilings:
        added = row.run.p50_ms - ceilings["sandbox-1"].run.p50_ms
        return f"p50 {added:+.2f} ms over the sandbox alone"
    return ""


def write_results(text: str) -> None:
    old = RESULTS.read_text() if RESULTS.exists() else ""
    section = f"{BEGIN}\n{text}\n{END}"
    if BEGIN in old and END in old:
        new = old[: old.index(BEGIN)] + section + old[old.index(END) + len(END) :]
    else:
        new = f"{section}\n\n{old}"
    RESULTS.write_text(new)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql,mariadb")
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="0: no --workers run")
    parser.add_argument(
        "--requests",
        type=int,
        default=500,
        help="fresh payments per write run (create, confirm, cancel)",
    )
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: `make bench` installs it (apt-get install wrk).")
    started_at = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="sunap-bench-") as tmp:
        workdir = Path(tmp)
        sandbox_port = free_port()
        sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        with (
            ceiling_app(args, workdir) as ceiling,
            started(
                "sandbox",
                [*SUNAP, "sandbox", "--port", str(sandbox_port)],
                dict(os.environ),
                sandbox_url,
                workdir / "sandbox.log",
            ) as sandbox,
        ):
            ceilings = ceiling_rows(ceiling)
            rows = list(ceilings.values())
            alone = bench_sandbox_alone(sandbox, args, workdir)
            ceilings["sandbox-1"] = alone
            rows.append(alone)
            for backend in args.backends.split(","):
                rows += bench_backend(backend, sandbox, args, workdir, ceiling=ceiling)
                print(table(rows, ceilings, []), flush=True)
            if args.workers > 1 and "postgresql" in args.backends:
                rows += bench_backend(
                    "postgresql",
                    sandbox,
                    args,
                    workdir,
                    ["--workers", str(args.workers)],
                    ["confirm", "get"],
                    ceiling,
                )
        tps = pgbench(args.seconds, workdir)
    extra = [
        f"Measured {started_at} on {os.cpu_count()} cores with `make bench` "
        f"(`bench/load.py --seconds {args.seconds:g} --requests {args.requests} --connections {args.connections}`): wrk, "
        f"{args.connections} connections unless one at a time. CPU ms/req is utime+stime per "
        "successful request from /proc/<pid>/stat, of the serving process and its children, "
        "less what the process spends idle (its workers polling) over as long. Reads run for "
        f"{args.seconds:g} s; each write run uses {args.requests} fresh payments.",
        "On a confirm or GET row, the ceiling's column is its POST or GET measured right after "
        f'that call ({BESIDE_SECONDS} s), and "vs ceiling" divides by it: the machine\'s speed '
        "drifts within a run, and two calls a minute apart compare badly. A confirm's ratio to "
        "the sandbox's CPU in the same row is steadier still: the host slows large processes "
        "more than the small ceiling app.",
        f"PostgreSQL's own pgbench, simple-update (-N), 8 clients, same run: {tps}.",
        f"The machine's load average (1 min) before the run: {load_before}; after it: "
        f"{load_average()} (the run itself keeps about 2 busy): a higher figure before means "
        "other work shared the cores, and latencies and requests/s say more about it than "
        "about Sunap.",
    ]
    text = table(rows, ceilings, extra)
    print(text)
    if not args.no_write:
        write_results(text)
    return 0


def load_average() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "unknown"


if __name__ == "__main__":
    raise SystemExit(main())
