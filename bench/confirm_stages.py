"""Where one confirm's CPU goes, stage by stage, in a real `sunap serve`.

    .venv/bin/python bench/confirm_stages.py [--backend postgresql] [--confirms 1000]

A sampling profiler reads this service badly: asyncpg and uvloop are compiled, so their work
shows up as the time of whichever Python line awaited them. Here `sunap serve` runs with timers
around the stages of a confirm (the API key look-up, the claim's transaction, the Toss call, the
verdict's transaction, and parts of each), each adding up the CPU time of the serving thread
(`time.thread_time`) while it runs, awaits included. Confirms are sent one at a time (as
`bench/load.py`'s "one at a time" row, against a standalone sandbox), so a stage's figure is its
own work and what the event loop did for it while it waited (the driver decoding an answer);
the workers polling in the background add a little. Only confirm requests are counted. The
timers cost a few microseconds each: the whole request's figure runs a little above
`bench/load.py`'s.
"""

from __future__ import annotations

import argparse
import atexit
import contextvars
import functools
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT_ENV = "BENCH_STAGES_OUT"  # not SUNAP_…: bench/load.py passes none of those on

# Where each stage is timed: (module, attribute path, label). Indentation in a label shows what
# a stage is part of; the last four are summed over both transactions (and, for statements, the
# API key look-up).
STAGES = [
    ("sunap.application.authentication", "authenticate", "the API key look-up"),
    ("sunap.application.confirm_payment", "_claim", "the claim (transaction 1)"),
    ("sunap.application.confirm_payment", "judge_attempt", "the Toss call, read and judged"),
    ("sunap_toss.transport", "AsyncTransport.call", "  sunap_toss: the call"),
    ("httpx", "AsyncClient.send", "    httpx: the client's send"),
    ("sunap_toss.http11", "Http11Transport.handle_async_request", "      the transport"),
    ("sunap.application.outcomes", "apply_confirm_verdict", "the verdict (transaction 2)"),
    ("sunap.adapters.sql.unit_of_work", "SqlUnitOfWork.__aenter__", "both transactions: check-out"),
    ("sunap.adapters.sql.unit_of_work", "SqlUnitOfWork.__aexit__", "both transactions: check-in"),
    ("sunap.adapters.sql.unit_of_work", "SqlUnitOfWork.commit", "both: the writes and COMMIT"),
    ("sunap.adapters.sql.direct", "DirectConnection.execute", "every statement, BEGIN included"),
]
WHOLE = "the whole request"


def serve_with_timers() -> None:
    """Run in the serving process: wrap the stages, then `sunap serve` as usual."""
    import importlib

    totals: dict[str, list[float]] = {}
    in_confirm = contextvars.ContextVar("in_confirm", default=False)

    def timed(label: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        async def stage(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return await function(*args, **kwargs)
            finally:
                if in_confirm.get():
                    total = totals.setdefault(label, [0.0, 0])
                    total[0] += time.thread_time() - started
                    total[1] += 1

        return stage

    for module_name, path, label in STAGES:
        owner: Any = importlib.import_module(module_name)
        *parents, name = path.split(".")
        for parent in parents:
            owner = getattr(owner, parent)
        setattr(owner, name, timed(label, getattr(owner, name)))
    # Names imported before the wrapping still point at the originals: point them again.
    import sunap.application.authentication as authentication
    import sunap.application.confirm_payment as confirm_payment
    import sunap.application.outcomes as outcomes
    import sunap.entrypoints.http.auth as http_auth

    http_auth.authenticate_key = authentication.authenticate  # type: ignore[attr-defined]
    confirm_payment.apply_confirm_verdict = outcomes.apply_confirm_verdict  # type: ignore[attr-defined]

    from sunap.entrypoints.http import request_observation

    observed = request_observation.RequestObservation.__call__

    async def whole(self: Any, scope: Any, receive: Any, send: Any) -> None:
        confirm = scope["type"] == "http" and scope["path"].endswith("/payments/confirm")
        in_confirm.set(confirm)
        started = time.thread_time()
        try:
            await observed(self, scope, receive, send)
        finally:
            if confirm:
                total = totals.setdefault(WHOLE, [0.0, 0])
                total[0] += time.thread_time() - started
                total[1] += 1
                if total[1] % 50 == 0:
                    dump()

    request_observation.RequestObservation.__call__ = whole  # type: ignore[method-assign]

    def dump() -> None:
        Path(os.environ[OUT_ENV]).write_text(json.dumps(totals))

    atexit.register(dump)
    import sunap.cli

    sys.exit(sunap.cli.main(sys.argv[2:]))


@contextmanager
def serve_through_this_file(load: Any) -> Iterator[None]:
    """bench/load.py's `started`, with `sunap serve` run by `serve_with_timers`."""
    started = load.started
    sunap = list(load.SUNAP)

    def with_timers(name: str, args: list[str], *rest: Any) -> Any:
        if args[: len(sunap)] == sunap and args[len(sunap)] == "serve":
            args = [sys.executable, __file__, "--serve", *args[len(sunap) :]]
        return started(name, args, *rest)

    load.started = with_timers
    try:
        yield
    finally:
        load.started = started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="postgresql")
    parser.add_argument("--confirms", type=int, default=1000)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "bench"))
    import load

    load.ONE_AT_A_TIME = args.confirms
    run_args = argparse.Namespace(seconds=5, connections=32, workers=0, requests=0)
    with tempfile.TemporaryDirectory(prefix="sunap-stages-") as tmp:
        workdir = Path(tmp)
        out = workdir / "stages.json"
        os.environ[OUT_ENV] = str(out)
        port = load.free_port()
        url = f"http://127.0.0.1:{port}"
        sandbox_cmd = [*load.SUNAP, "sandbox", "--port", str(port)]
        with (
            load.started(
                "sandbox", sandbox_cmd, dict(os.environ), url, workdir / "sandbox.log"
            ) as sandbox,
            serve_through_this_file(load),
        ):
            rows = load.bench_backend(
                args.backend, sandbox, run_args, workdir, (), ("confirm-1",), None
            )
        totals = json.loads(out.read_text())
    confirms = totals[WHOLE][1]
    print(f"| stage of a confirm, {args.backend}, one at a time | CPU ms per confirm |")
    print("|---|---:|")
    for label in [WHOLE, *(label for _, _, label in STAGES)]:
        if label in totals:
            cpu, _calls = totals[label]
            print(f"| {label.replace('  ', '&nbsp;&nbsp;')} | {cpu / confirms * 1000:.3f} |")
    serving = next(cpu for name, cpu in rows[0].run.cpu_ms.items() if name.startswith("serve"))
    print(
        f"\n{confirms} confirms, measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"the serving process's CPU per confirm in the same run, as bench/load.py reads it "
        f"(timers and every thread included): {serving:.2f} ms."
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve_with_timers()
    else:
        main()
