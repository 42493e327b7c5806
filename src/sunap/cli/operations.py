"""`sunap migrate`, `sunap worker`, `sunap reconcile`."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from typing import TYPE_CHECKING, Annotated

import typer

from .output import FAILED, JsonOption, iso_moment, print_json, tracked
from .serve import configure_command_logging, configure_logging

if TYPE_CHECKING:
    from datetime import datetime

    from sunap.application.recheck import Rechecked
    from sunap.application.reconcile import ReconcileOutcome
    from sunap.config import Settings


def register(app: typer.Typer) -> None:
    app.command(help="Bring the database to the newest schema.")(migrate)
    app.command(
        help="The workers alone, with no API: relay, webhook processor, reconciler, "
        "subscription scheduler, expiry and housekeeping."
    )(worker)
    app.command(help="Settle the unknown PG outcomes that are due, once.")(reconcile)
    app.command(
        help="Ask Toss again about every payment created since a time that Toss may still "
        "change (paid, partly refunded, waiting for a deposit), and adopt what it shows: after "
        "webhooks were lost."
    )(recheck)


def migrate() -> None:
    from sunap.adapters.sql.migrate import upgrade
    from sunap.config import Settings

    settings = Settings()
    migration = upgrade(settings.database_url)  # one that is not Sunap's: exit 3 (cli/__init__)
    print(migration.left_as_it_is() or "database is at the newest schema")


def worker(
    metrics_port: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=65535,
            help="Serve /metrics on this port (default SUNAP_WORKER_METRICS_PORT; 0: none).",
        ),
    ] = None,
) -> None:
    from sunap.config import Settings

    from .serve import refuse_taken_ports

    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    port = settings.worker_metrics_port if metrics_port is None else metrics_port
    refuse_taken_ports(settings.host, {"metrics": port})
    asyncio.run(_work(settings, port))


async def _work(settings: Settings, metrics_port: int) -> None:
    from sunap.bootstrap import build_runtime, loopback_url
    from sunap.entrypoints.workers.loop import WorkerGroup
    from sunap.entrypoints.workers.metrics_endpoint import serving_metrics

    runtime = build_runtime(settings, self_url=loopback_url(settings.host, settings.port))
    await runtime.publisher.start()
    group = WorkerGroup(runtime.workers, runtime.metrics, is_outage=runtime.container.is_outage)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    group.start()
    try:
        async with serving_metrics(runtime.container, runtime.metrics, settings.host, metrics_port):
            await stop.wait()
    finally:
        await group.stop()
        await runtime.aclose()


def reconcile(
    limit: Annotated[int, typer.Option(min=1, help="At most this many payments.")] = 50,
    json: JsonOption = False,
) -> None:
    from sunap.config import Settings

    settings = Settings()
    configure_command_logging(settings)
    outcomes = asyncio.run(_reconcile_once(settings, limit))
    if json:
        print_json([{"paymentId": p, "outcome": o.value} for p, o in outcomes.items()])
        return
    for payment_id, outcome in outcomes.items():
        print(f"{payment_id}\t{outcome.value}")
    print(f"{len(outcomes)} payment(s) checked")


async def _reconcile_once(settings: Settings, limit: int) -> dict[str, ReconcileOutcome]:
    from sunap.application.reconcile import payments_due, reconcile_payment
    from sunap.bootstrap import build_runtime, loopback_url

    runtime = build_runtime(settings, self_url=loopback_url(settings.host, settings.port))
    try:
        due = await payments_due(runtime.deps, limit)
        return {
            payment_id: await reconcile_payment(payment_id, runtime.deps)
            for payment_id in tracked(due, "reconciling")
        }
    finally:
        await runtime.aclose()


def recheck(
    since: Annotated[
        str,
        typer.Option(help="Payments created at or after this time (ISO 8601 with its offset)."),
    ],
    limit: Annotated[int, typer.Option(min=1, help="At most this many payments.")] = 1000,
    per_minute: Annotated[
        int,
        typer.Option(
            min=1, help="At most this many look-ups a minute (Toss's test keys allow 100)."
        ),
    ] = 60,
    json: JsonOption = False,
) -> None:
    from sunap.config import Settings

    moment = iso_moment(since)
    settings = Settings()
    configure_command_logging(settings)
    rechecked = asyncio.run(_recheck(settings, moment, limit, per_minute))
    if json:
        print_json(
            [
                {"paymentId": r.payment_id, "outcome": r.outcome.value, "status": r.status}
                | ({"note": r.note} if r.note else {})
                for r in rechecked
            ]
        )
    else:
        for r in rechecked:
            print("\t".join((r.payment_id, r.outcome.value, r.status, r.note or "-")))
        counts = Counter(r.outcome.value for r in rechecked)
        told = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
        print(f"{len(rechecked)} payment(s) rechecked" + (f": {told}" if told else ""))
    if any(r.outcome.value == "unreachable" for r in rechecked):
        raise typer.Exit(FAILED)  # some could not be asked: run it again


async def _recheck(
    settings: Settings, since: datetime, limit: int, per_minute: int
) -> list[Rechecked]:
    from sunap.application.recheck import RecheckOutcome, payments_to_recheck, recheck_payment
    from sunap.bootstrap import build_runtime, loopback_url

    runtime = build_runtime(settings, self_url=loopback_url(settings.host, settings.port))
    pause = 60 / per_minute
    rechecked: list[Rechecked] = []
    try:
        for payment_id in tracked(
            await payments_to_recheck(runtime.deps, since, limit), "rechecking"
        ):
            if rechecked and rechecked[-1].outcome is not RecheckOutcome.BUSY:
                await asyncio.sleep(pause)  # the last one asked Toss: keep under its rate limit
            rechecked.append(await recheck_payment(payment_id, runtime.deps))
        return rechecked
    finally:
        await runtime.aclose()
