"""`toss-sandbox` (and `sunap sandbox`): the Toss sandbox on its own port."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import uvicorn

from sunap_toss_sandbox.app import create_sandbox_app
from sunap_toss_sandbox.auth import DOC_CLIENT_KEY, DOC_SECRET_KEY


def banner(base_url: str, webhook_url: str | None) -> str:
    webhooks = f", webhooks to {webhook_url}" if webhook_url else ", no webhooks"
    return (
        f"Toss sandbox (SANDBOX, no money moves) at {base_url} - secret key {DOC_SECRET_KEY}, "
        f"client key {DOC_CLIENT_KEY}{webhooks}"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command line of the sandbox, shared by `toss-sandbox` and `sunap sandbox`."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--webhook-url", default=None)


def run(host: str = "127.0.0.1", port: int = 8090, webhook_url: str | None = None) -> None:
    """Serves the sandbox until interrupted."""
    app = create_sandbox_app(webhook_url=webhook_url)
    print(banner(f"http://{host}:{port}", webhook_url), flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def run_from_arguments(args: argparse.Namespace) -> None:
    run(args.host, args.port, args.webhook_url)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="toss-sandbox", description="A stateful emulator of the Toss Payments Core API v1."
    )
    add_arguments(parser)
    run_from_arguments(parser.parse_args(argv))
    return 0
