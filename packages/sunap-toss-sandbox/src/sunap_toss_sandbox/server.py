"""`toss-sandbox` (and `sunap sandbox`): the Toss sandbox on its own port."""

from __future__ import annotations

import argparse
import signal
from collections.abc import Sequence

import uvicorn

from sunap_toss_sandbox import choices
from sunap_toss_sandbox.app import create_sandbox_app
from sunap_toss_sandbox.auth import DOC_CLIENT_KEY, DOC_SECRET_KEY
from sunap_toss_sandbox.pacing import parse_rate_limit


def banner(base_url: str, webhook_url: str | None) -> str:
    webhooks = f", webhooks to {webhook_url}" if webhook_url else ", no webhooks"
    return (
        f"Toss sandbox (SANDBOX, no money moves) at {base_url} - secret key {DOC_SECRET_KEY}, "
        f"client key {DOC_CLIENT_KEY}{webhooks}"
    )


def base_url(host: str, port: int) -> str:
    """`http://host:port`, an IPv6 address in brackets (`http://[::1]:8090`)."""
    if ":" in host:
        host = "[" + host.replace("%", "%25") + "]"
    return f"http://{host}:{port}"


def rate_limit(text: str) -> int:
    try:
        return parse_rate_limit(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_arguments(
    parser: argparse.ArgumentParser,
    *,
    consecutive_cancel_window: float = choices.CONSECUTIVE_CANCEL_WINDOW_SECONDS,
) -> None:
    """The command line of the sandbox, shared by `toss-sandbox` and `sunap sandbox`."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--webhook-url", default=None)
    parser.add_argument(
        "--rate-limit",
        type=rate_limit,
        default=None,
        metavar="N/min",
        help="answer 429 past N calls a minute per API and key, as Toss's test mode does at 100",
    )
    parser.add_argument(
        "--consecutive-cancel-window",
        type=float,
        default=consecutive_cancel_window,
        metavar="SECONDS",
        help="refuse a 2nd cancel of one payment this soon, 403 FORBIDDEN_CONSECUTIVE_REQUEST "
        f"(Toss: 1; 0: off; default {consecutive_cancel_window:g})",
    )


def run(
    host: str = "127.0.0.1",
    port: int = 8090,
    webhook_url: str | None = None,
    *,
    rate_limit_per_minute: int | None = None,
    consecutive_cancel_window_seconds: float = choices.CONSECUTIVE_CANCEL_WINDOW_SECONDS,
) -> None:
    """Serves the sandbox until interrupted."""
    app = create_sandbox_app(
        webhook_url=webhook_url,
        rate_limit_per_minute=rate_limit_per_minute,
        consecutive_cancel_window_seconds=consecutive_cancel_window_seconds,
    )
    print(banner(base_url(host, port), webhook_url), flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def run_from_arguments(args: argparse.Namespace) -> None:
    run(
        args.host,
        args.port,
        args.webhook_url,
        rate_limit_per_minute=args.rate_limit,
        consecutive_cancel_window_seconds=args.consecutive_cancel_window,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="toss-sandbox", description="A stateful emulator of the Toss Payments Core API v1."
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    _exit_cleanly_on_sigterm()
    run_from_arguments(args)
    return 0


def _exit_cleanly_on_sigterm() -> None:
    """SIGTERM ends the command with 0, as SIGINT does. uvicorn shuts down gracefully on it, then
    raises the signal again for the handler it found in place: Python's default would end the
    process with 143, a failed run to systemd and Kubernetes."""

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
