"""The money soak: a thousand and more seeded scenarios of tests/support/money_scenarios.py.

Each backend gets its own `sunap serve` process, database and Toss sandbox, and the backends play
their rounds at the same time. A round is one seed: `--per-round` scenarios played at once (shops
sharing one Toss account, an attacker on it, random Toss faults), then settled by the reconciler
and checked against Toss. Prints scenarios, violations and time per backend and in all; exits 1
if any invariant was broken, printing each violation with its seed.

    make soak                                   # 1,000 scenarios on SQLite and PostgreSQL
    .venv/bin/python bench/money_soak.py --scenarios 60 --backends sqlite
    .venv/bin/python bench/money_soak.py --first-seed 7000123 --scenarios 10   # replay one seed
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.money_scenarios import RoundResult, play_round, running_target
from tests.support.sandbox_server import running_sandbox


@dataclass
class Tally:
    backend: str
    rounds: int = 0
    scenarios: int = 0
    requests: int = 0
    overloaded: int = 0
    seconds: float = 0.0
    violations: list[str] = field(default_factory=list)

    def add(self, result: RoundResult) -> None:
        self.rounds += 1
        self.scenarios += result.scenarios
        self.requests += result.requests
        self.overloaded += result.overloaded
        self.violations += result.violations


def soak(backend: str, seeds: list[int], per_round: int, workdir: Path, deadline: float) -> Tally:
    tally = Tally(backend)
    started = time.monotonic()
    workdir.mkdir()
    with running_sandbox() as sandbox_url, running_target(workdir, sandbox_url, backend) as target:
        for seed in seeds:
            if time.monotonic() > deadline:
                print(f"{backend:>10}: out of time after {tally.rounds} rounds", flush=True)
                break
            result = play_round(target, seed, per_round)
            tally.add(result)
            print(
                f"{backend:>10} seed {seed}: {result.scenarios} scenarios, "
                f"{result.requests} requests, {result.overloaded} overloaded, "
                f"{len(result.violations)} violations "
                f"({tally.scenarios} so far, {time.monotonic() - started:.0f} s)",
                flush=True,
            )
            for violation in result.violations:
                print(f"  VIOLATION {violation}", flush=True)
    tally.seconds = time.monotonic() - started
    return tally


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=1000, help="in all, at least")
    parser.add_argument("--per-round", type=int, default=10, help="scenarios played at once")
    parser.add_argument(
        "--backends", default="sqlite,postgresql", help="one service each; a name may repeat"
    )
    parser.add_argument("--first-seed", type=int, default=7_000_000)
    parser.add_argument(
        "--minutes", type=float, default=0, help="start no round after this long (0: no limit)"
    )
    parser.add_argument(
        "--keep",
        type=Path,
        help="keep each service's log (serve.log) in this folder instead of a temporary one",
    )
    args = parser.parse_args()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    rounds = -(-args.scenarios // args.per_round)  # rounded up
    seeds = [args.first_seed + n for n in range(rounds)]
    started = time.monotonic()
    deadline = started + args.minutes * 60 if args.minutes else float("inf")
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    workdirs = (
        nullcontext(tempfile.mkdtemp(prefix="sunap-soak-", dir=args.keep))
        if args.keep
        else tempfile.TemporaryDirectory(prefix="sunap-soak-")
    )
    with (
        workdirs as tmp,
        ThreadPoolExecutor(max_workers=len(backends)) as pool,
    ):
        jobs = [
            pool.submit(
                soak,
                backend,
                seeds[i :: len(backends)],
                args.per_round,
                Path(tmp, f"{i}-{backend}"),
                deadline,
            )
            for i, backend in enumerate(backends)
        ]
        tallies = [job.result() for job in jobs]
    elapsed = time.monotonic() - started
    print()
    print(
        f"{'backend':<12}{'rounds':>8}{'scenarios':>11}{'requests':>10}{'503s':>6}"
        f"{'violations':>12}{'s':>8}"
    )
    for t in tallies:
        print(
            f"{t.backend:<12}{t.rounds:>8}{t.scenarios:>11}{t.requests:>10}{t.overloaded:>6}"
            f"{len(t.violations):>12}{t.seconds:>8.0f}"
        )
    scenarios = sum(t.scenarios for t in tallies)
    violations = [v for t in tallies for v in t.violations]
    print(
        f"{'all':<12}{sum(t.rounds for t in tallies):>8}{scenarios:>11}"
        f"{sum(t.requests for t in tallies):>10}{sum(t.overloaded for t in tallies):>6}"
        f"{len(violations):>12}{elapsed:>8.0f}"
    )
    for violation in violations:
        print(f"VIOLATION {violation}")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
