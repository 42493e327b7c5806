"""`sunap billing run-due [--at ISO-8601]`: run the subscription scheduler once.

The logic is `run_due_once`, which returns the rows; the command only prints them."""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime
from typing import Any

from sunap.application.billing_scheduler import ChargeLine, run_due
from sunap.bootstrap import build_runtime, loopback_url
from sunap.config import ConfigurationError, Settings

from .serve import configure_logging


def register(commands: Any) -> None:
    billing = commands.add_parser("billing", help="recurring billing")
    actions = billing.add_subparsers(dest="billing_command", required=True)
    run = actions.add_parser("run-due", help="charge the subscriptions due at that time, once")
    run.add_argument(
        "--at",
        type=_moment,
        default=None,
        help="run as if the time were this (ISO 8601 with offset; for tests, refused in production)",
    )
    run.set_defaults(run=run_run_due)


def run_run_due(args: argparse.Namespace) -> int:
    settings = Settings()
    configure_logging(settings.log_level)
    lines = asyncio.run(run_due_once(settings, args.at))
    for line in lines:
        print(
            "\t".join(
                str(v) if v is not None else "-"
                for v in (
                    line.subscription_id,
                    line.outcome,
                    line.order_id,
                    line.amount,
                    line.status,
                )
            )
        )
    counts: dict[str, int] = {}
    for line in lines:
        counts[line.outcome] = counts.get(line.outcome, 0) + 1
    summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
    print(f"{len(lines)} due subscription(s){': ' + summary if summary else ''}")
    return 0


async def run_due_once(settings: Settings, at: datetime | None) -> list[ChargeLine]:
    """One scheduler pass, as `sunap serve`'s worker runs it; `at` only outside production."""
    if at is not None and settings.production:
        raise ConfigurationError("--at is for tests: it is refused with SUNAP_PRODUCTION=true.")
    runtime = build_runtime(settings, self_url=loopback_url(settings.host, settings.port))
    try:
        return await run_due(runtime.deps, at)
    finally:
        await runtime.aclose()


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("give the time with its offset, e.g. +09:00 or Z")
    return moment.astimezone(UTC)
