"""`sunap serve` and `sunap sandbox`."""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn
from sqlalchemy.engine import make_url

from sunap.adapters.sql.migrate import upgrade
from sunap.bootstrap import SANDBOX_MOUNT, build_app, loopback_url
from sunap.config import Settings
from sunap.entrypoints.log_format import configure_logging
from sunap.sandbox.server import run as run_sandbox


def register(commands: Any) -> None:
    serve = commands.add_parser(
        "serve", help="the API, the workers and (without a Toss key) the sandbox"
    )
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--grpc-port", type=int, default=None, help="0: no gRPC")
    serve.set_defaults(run=run_serve)

    sandbox = commands.add_parser("sandbox", help="the Toss sandbox on its own")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8090)
    sandbox.add_argument("--webhook-url", default=None)
    sandbox.set_defaults(run=lambda a: run_sandbox(a.host, a.port, a.webhook_url))


def run_serve(args: argparse.Namespace) -> int:
    settings = Settings()
    host = args.host or settings.host
    port = args.port or settings.port
    configure_logging(settings.log_level, settings.log_format)
    if make_url(settings.database_url).get_backend_name() == "sqlite":
        upgrade(settings.database_url)  # the embedded default migrates itself
    grpc_port = settings.grpc_port if args.grpc_port is None else args.grpc_port
    grpc_address = (host, grpc_port) if grpc_port else None
    self_url = loopback_url(host, port)
    app = build_app(settings, self_url=self_url, grpc_address=grpc_address)
    print(banner(settings, f"http://{host}:{port}", self_url, grpc_address), flush=True)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        log_config=None,  # uvicorn's lines go through our handler, in the same format
        access_log=False,
    )
    return 0


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
