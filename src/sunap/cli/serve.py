"""`sunap serve` and `sunap sandbox`."""

from __future__ import annotations

import argparse
import logging
import os
from typing import Any

import uvicorn
from sqlalchemy.engine import make_url

from sunap.adapters.sql.migrate import upgrade
from sunap.bootstrap import SANDBOX_MOUNT, build_app, loopback_url
from sunap.config import ConfigurationError, Settings
from sunap.sandbox.server import run as run_sandbox


def register(commands: Any) -> None:
    serve = commands.add_parser(
        "serve", help="the API, the workers and (without a Toss key) the sandbox"
    )
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--grpc-port", type=int, default=None, help="0: no gRPC")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes serving on the one port (PostgreSQL or MariaDB with a Toss key: "
        "they coordinate through the database)",
    )
    serve.set_defaults(run=run_serve)

    sandbox = commands.add_parser("sandbox", help="the Toss sandbox on its own")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8090)
    sandbox.add_argument("--webhook-url", default=None)
    sandbox.set_defaults(run=lambda a: run_sandbox(a.host, a.port, a.webhook_url))


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )


def run_serve(args: argparse.Namespace) -> int:
    settings = Settings()
    host = args.host or settings.host
    port = args.port or settings.port
    configure_logging(settings.log_level)
    refuse_workers(args.workers, settings)
    if make_url(settings.database_url).get_backend_name() == "sqlite":
        upgrade(settings.database_url)  # the embedded default migrates itself
    grpc_port = settings.grpc_port if args.grpc_port is None else args.grpc_port
    grpc_address = (host, grpc_port) if grpc_port else None
    self_url = loopback_url(host, port)
    print(banner(settings, f"http://{host}:{port}", self_url, grpc_address), flush=True)
    log_level = settings.log_level.lower()
    if args.workers == 1:
        app = build_app(settings, self_url=self_url, grpc_address=grpc_address)
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level=log_level,
            access_log=False,
            loop="uvloop",
            http="httptools",
        )
        return 0
    # Each worker process builds its own app from the environment it inherits.
    os.environ.update(SUNAP_HOST=host, SUNAP_PORT=str(port), SUNAP_GRPC_PORT=str(grpc_port))
    uvicorn.run(
        "sunap.cli.serve:worker_app",
        factory=True,
        workers=args.workers,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        loop="uvloop",
        http="httptools",
    )
    return 0


def worker_app() -> Any:
    """The app of one `--workers` process; gRPC shares its port between them (SO_REUSEPORT)."""
    settings = Settings()
    configure_logging(settings.log_level)
    grpc_address = (settings.host, settings.grpc_port) if settings.grpc_port else None
    self_url = loopback_url(settings.host, settings.port)
    return build_app(settings, self_url=self_url, grpc_address=grpc_address)


def refuse_workers(workers: int, settings: Settings) -> None:
    """Several processes are safe only where they share everything through the database: not
    on SQLite (one writer; its writers queue in process memory, so several processes would spin
    in SQLite's busy handler instead), nor with the embedded sandbox (its books live in the
    memory of each process, so a payment paid in one would be unknown to the next)."""
    if workers < 1:
        raise ConfigurationError("--workers must be at least 1.")
    if workers == 1:
        return
    if make_url(settings.database_url).get_backend_name() == "sqlite":
        raise ConfigurationError(
            "--workers above 1 needs PostgreSQL or MariaDB (SUNAP_DATABASE_URL): SQLite has "
            "one writer at a time, so more processes would only wait on each other."
        )
    if settings.sandbox_mode:
        raise ConfigurationError(
            "--workers above 1 needs a Toss key (TOSS_SECRET_KEY): the embedded sandbox keeps "
            "its payments in the memory of one process. Run `sunap sandbox` on its own and "
            "point TOSS_API_BASE_URL at it."
        )


def banner(
    settings: Settings, listen_url: str, self_url: str, grpc_address: tuple[str, int] | None
) -> str:
    lines = [
        f"Sunap listening on {listen_url} (database: {make_url(settings.database_url).render_as_string(hide_password=True)})",
        f"gRPC (sunap.v1.PaymentService, health, reflection) on {grpc_address[0]}:{grpc_address[1]}"
        if grpc_address
        else "gRPC: off (port 0)",
    ]
    if settings.sandbox_mode:
        lines += [
            "*** SANDBOX MODE: no TOSS_SECRET_KEY set. Payments go to the built-in Toss sandbox",
            f"*** at {self_url}{SANDBOX_MOUNT} — no real money moves. Set TOSS_SECRET_KEY for Toss.",
        ]
    else:
        lines.append(f"Toss API: {settings.toss_api_base_url}")
    lines.append(
        f"Events: {'broker configured' if settings.broker_url else 'written to the log (no SUNAP_BROKER_URL)'}"
    )
    public_url = (settings.public_url or self_url).rstrip("/")
    lines.append(f"Dashboard: {public_url}/dashboard · hosted checkout: {public_url}/checkout/…")
    return "\n".join(lines)
