"""`sunap migrate`, `sunap worker`, `sunap reconcile`."""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import Any

from sunap.adapters.sql.migrate import upgrade
from sunap.application.reconcile import reconcile_due
from sunap.bootstrap import build_runtime, loopback_url
from sunap.config import Settings
from sunap.entrypoints.log_format import configure_logging
from sunap.entrypoints.workers.loop import WorkerGroup


def register(commands: Any) -> None:
    migrate = commands.add_parser("migrate", help="bring the database to the newest schema")
    migrate.set_defaults(run=run_migrate)
    worker = commands.add_parser("worker", help="relay, webhook processor and reconciler, no API")
    worker.set_defaults(run=run_worker)
    reconcile = commands.add_parser(
        "reconcile", help="settle unknown PG outcomes that are due, once"
    )
    reconcile.set_defaults(run=run_reconcile)


def run_migrate(_: argparse.Namespace) -> int:
    settings = Settings()
    upgrade(settings.database_url)
    print("database is at the newest schema")
    return 0


def run_worker(_: argparse.Namespace) -> int:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(_work(settings))
    return 0


async def _work(settings: Settings) -> None:
    runtime = build_runtime(settings, self_url=loopback_url(settings.host, settings.port))
    await runtime.publisher.start()
    group = WorkerGroup(runtime.workers, runtime.metrics)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    group.start()
    try:
        await stop.wait()
    finally:
        await group.stop()
        await runtime.aclose()


def run_reconcile(_: argparse.Namespace) -> int:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    outcomes = asyncio.run(_reconcile_once(settings))
    for payment_id, outcome in outcomes.items():
        print(f"{payment_id}\t{outcome.value}")
    print(f"{len(outcomes)} payment(s) checked")
    return 0


async def _reconcile_once(settings: Settings) -> dict[str, Any]:
    runtime = build_runtime(settings, self_url=loopback_url(settings.host, settings.port))
    try:
        return dict(await reconcile_due(runtime.deps))
    finally:
        await runtime.aclose()
