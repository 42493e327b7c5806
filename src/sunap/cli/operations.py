"""`sunap migrate`, `sunap worker`, `sunap reconcile`."""

from __future__ import annotations

import asyncio
import signal
from typing import TYPE_CHECKING, Annotated

import typer

from .output import JsonOption, print_json, tracked
from .serve import configure_command_logging, configure_logging

if TYPE_CHECKING:
    from sunap.application.reconcile import ReconcileOutcome
    from sunap.config import Settings


def register(app: typer.Typer) -> None:
    app.command(help="Bring the database to the newest schema.")(migrate)
    app.command(
        help="The workers alone, with no API: relay, webhook processor, reconciler, "
        "subscription scheduler, expiry and housekeeping."
    )(worker)
    app.command(help="Settle the unknown PG outcomes that are due, once.")(reconcile)


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
