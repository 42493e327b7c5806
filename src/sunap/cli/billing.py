"""`sunap billing run-due [--at ISO-8601] [--json]`: run the subscription scheduler once.

The logic is `run_due_once`, which returns the rows; the command only prints them."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from .output import JsonOption, iso_moment, print_json

if TYPE_CHECKING:
    from sunap.application.billing_scheduler import ChargeLine
    from sunap.config import Settings


def register(app: typer.Typer) -> None:
    billing = typer.Typer(help="Recurring billing.", no_args_is_help=True)
    billing.command("run-due", help="Charge the subscriptions due at that time, once.")(run_due)
    app.add_typer(billing, name="billing")


def run_due(
    at: Annotated[
        str | None,
        typer.Option(
            help="Run as if the time were this (ISO 8601 with offset; for tests, refused in "
            "production)."
        ),
    ] = None,
    json: JsonOption = False,
) -> None:
    from sunap.config import Settings

    from .serve import configure_command_logging

    moment = None if at is None else iso_moment(at)
    settings = Settings()
    configure_command_logging(settings)
    lines = asyncio.run(run_due_once(settings, moment))
    if json:
        print_json(
            [
                {
                    "subscriptionId": line.subscription_id,
                    "outcome": line.outcome,
                    "paymentId": line.payment_id,
                    "orderId": line.order_id,
                    "amount": line.amount,
                    "status": line.status,
                }
                for line in lines
            ]
        )
        return
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


async def run_due_once(settings: Settings, at: datetime | None) -> list[ChargeLine]:
    """One scheduler pass, as `sunap serve`'s worker runs it; `at` only outside production."""
    from sunap.application.billing_scheduler import run_due as run_scheduler
    from sunap.bootstrap import build_runtime, loopback_url
    from sunap.config import ConfigurationError

    if at is not None and settings.production:
        raise ConfigurationError("--at is for tests: it is refused with SUNAP_PRODUCTION=true.")
    runtime = build_runtime(settings, self_url=loopback_url(settings.host, settings.port))
    try:
        return await run_scheduler(runtime.deps, at)
    finally:
        await runtime.aclose()
