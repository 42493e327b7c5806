"""This code against an earlier commit, measured in turns: what a change did to the money path.

    .venv/bin/python bench/paired.py --against dad0b0c [--backend postgresql]
                                     [--calls get,confirm,confirm-1] [--rounds 3]
                                     [--workers N] [--figure cpu|rate]

On this shared 2-core machine one run's figures move by a fifth from run to run, more than most
changes move them, so two `make bench` runs taken apart compare badly. Here the earlier commit is
checked out beside this one (a git worktree, removed at the end) and both are measured in turn,
earlier then this, `--rounds` times: the same `bench/load.py` runs (a standalone sandbox, `sunap
serve` on a fresh database, wrk), each side's sandbox and service from its own sources. The table
gives each round's CPU milliseconds per request of the serving process, and the medians.

`--workers N` runs this code's side as `sunap serve --workers N` (the earlier side stays one
process), and `--figure rate` tabulates requests per second instead of CPU: together they set
several processes of this code beside one process of an earlier commit on the same cores.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("src", "packages/sunap-toss/src", "packages/sunap-toss-sandbox/src")


def side_run(args: argparse.Namespace) -> None:
    """One side, one round: prints the CPU ms per request of each call as JSON."""
    sys.path.insert(0, str(ROOT / "bench"))
    import load

    run_args = argparse.Namespace(
        seconds=args.seconds,
        connections=args.connections,
        requests=args.requests,
        workers=0,
    )
    serve_args = ["--workers", str(args.workers)] if args.workers else []
    with tempfile.TemporaryDirectory(prefix="sunap-paired-") as tmp:
        workdir = Path(tmp)
        port = load.free_port()
        url = f"http://127.0.0.1:{port}"
        sandbox_cmd = [*load.SUNAP, "sandbox", "--port", str(port)]
        with load.started("sandbox", sandbox_cmd, dict(os.environ), url, workdir / "sb.log") as sb:
            rows = load.bench_backend(
                args.backend, sb, run_args, workdir, serve_args, calls=args.calls.split(",")
            )
    serving = " ".join([f"serve {args.backend}", *serve_args])
    # "confirm, postgresql" -> "confirm"; the serving process's figure, not the sandbox's
    figures = {
        row.what.rsplit(",", 1)[0]: (
            row.run.rate if args.figure == "rate" else row.run.cpu_ms[serving]
        )
        for row in rows
    }
    print(json.dumps(figures))


def measure(args: argparse.Namespace, pythonpath: str | None) -> dict[str, float]:
    """The earlier commit's side when `pythonpath` names its sources, else this code's."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    workers = 0
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    else:
        workers = args.workers
    command = [sys.executable, __file__, "--side-run", f"--workers={workers}", *forwarded(args)]
    out = subprocess.run(command, env=env, check=True, capture_output=True, text=True, cwd=ROOT)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def forwarded(args: argparse.Namespace) -> list[str]:
    return [
        f"--backend={args.backend}",
        f"--calls={args.calls}",
        f"--seconds={args.seconds}",
        f"--connections={args.connections}",
        f"--requests={args.requests}",
        f"--figure={args.figure}",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", help="the earlier commit (any git revision)")
    parser.add_argument("--backend", default="postgresql")
    parser.add_argument("--calls", default="get,confirm,confirm-1")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--workers", type=int, default=0, help="this code's serve --workers N")
    parser.add_argument("--figure", choices=("cpu", "rate"), default="cpu")
    parser.add_argument("--side-run", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side_run:
        side_run(args)
        return 0
    if not args.against:
        parser.error("--against REV is required")
    with tempfile.TemporaryDirectory(prefix="sunap-against-") as tmp:
        earlier = Path(tmp) / "tree"
        git = ["git", "-C", str(ROOT)]
        subprocess.run(
            [*git, "worktree", "add", "--detach", str(earlier), args.against], check=True
        )
        try:
            subprocess.run(
                [sys.executable, "-m", "compileall", "-q", *(str(earlier / s) for s in SOURCES)],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            earlier_path = os.pathsep.join(str(earlier / s) for s in SOURCES)
            rounds: list[tuple[dict[str, float], dict[str, float]]] = []
            for n in range(args.rounds):
                before = measure(args, earlier_path)
                after = measure(args, None)
                rounds.append((before, after))
                print(f"round {n + 1}: {args.against} {before}  this {after}", flush=True)
        finally:
            subprocess.run([*git, "worktree", "remove", "--force", str(earlier)], check=False)
    print(table(args, rounds))
    return 0


def table(args: argparse.Namespace, rounds: list[tuple[dict[str, float], dict[str, float]]]) -> str:
    figure = "requests/s" if args.figure == "rate" else "CPU ms/req"
    this = f"this code (--workers {args.workers})" if args.workers else "this code"
    lines = [
        f"| call, {args.backend} | {figure} at {args.against}, by round | {this}, by round "
        "| medians |",
        "|---|---|---|---|",
    ]
    for call in rounds[0][0]:
        before = [r[0][call] for r in rounds]
        after = [r[1][call] for r in rounds]
        lines.append(
            f"| {call} | {' / '.join(f'{v:.2f}' for v in before)} "
            f"| {' / '.join(f'{v:.2f}' for v in after)} "
            f"| {statistics.median(before):.2f} → {statistics.median(after):.2f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
