"""`toss-sandbox` (and `sunap sandbox`): the Toss sandbox on its own port."""

from __future__ import annotations

import argparse
import contextlib
import signal
import socket
import sys
from collections.abc import Sequence

import uvicorn

from sunap_toss_sandbox import choices
from sunap_toss_sandbox.accounts import is_webhook_url
from sunap_toss_sandbox.app import create_sandbox_app
from sunap_toss_sandbox.auth import DOC_CLIENT_KEY, DOC_SECRET_KEY
from sunap_toss_sandbox.pacing import parse_rate_limit

# Exit codes, as `sunap` documents them (its docs/cli.md): a bad option or a port that cannot be
# used is a usage error; a server that did not start for another reason, a failed run.
USAGE = 2
FAILED = 1


class StartRefused(Exception):
    """The sandbox cannot start as asked (its port is taken); the message says why, in one line."""


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


def port_number(text: str) -> int:
    """1-65535: a larger number would be taken modulo 65536 by the socket, a port nobody asked for."""
    if not text.strip().isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 1 to 65535, got {text!r}")
    return int(text)


def cancel_window(text: str) -> float:
    """Seconds, 0 (off) or more."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not seconds >= 0 or seconds == float("inf"):
        raise argparse.ArgumentTypeError(f"expected seconds, 0 (off) or more, got {text!r}")
    return seconds


def webhook_url(text: str) -> str:
    if not is_webhook_url(text):
        # The value is not echoed: a URL may hold a password.
        raise argparse.ArgumentTypeError("expected an http:// or https:// URL")
    return text


def add_arguments(
    parser: argparse.ArgumentParser,
    *,
    consecutive_cancel_window: float = choices.CONSECUTIVE_CANCEL_WINDOW_SECONDS,
) -> None:
    """The command line of the sandbox, shared by `toss-sandbox` and `sunap sandbox`."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=port_number, default=8090, help="1-65535")
    parser.add_argument(
        "--webhook-url", type=webhook_url, default=None, help="an http:// or https:// URL"
    )
    parser.add_argument(
        "--rate-limit",
        type=rate_limit,
        default=None,
        metavar="N/min",
        help="answer 429 past N calls a minute per API and key, as Toss's test mode does at 100",
    )
    parser.add_argument(
        "--consecutive-cancel-window",
        type=cancel_window,
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
    """Serves the sandbox until interrupted. StartRefused when the port cannot be used: the
    socket is bound before the banner says where the sandbox is, never after."""
    listener = listening_socket(host, port)
    app = create_sandbox_app(
        webhook_url=webhook_url,
        rate_limit_per_minute=rate_limit_per_minute,
        consecutive_cancel_window_seconds=consecutive_cancel_window_seconds,
    )
    print(banner(base_url(host, port), webhook_url), flush=True)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    with listener, contextlib.suppress(KeyboardInterrupt):  # uvicorn raises SIGINT again
        server.run(sockets=[listener])
    if not server.started:  # uvicorn said why above (its own exit code, 3, means another thing)
        raise SystemExit(FAILED)


def listening_socket(host: str, port: int) -> socket.socket:
    """The port bound as uvicorn binds it (SO_REUSEADDR; IPv6 for an address with a colon)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
    except OSError as error:
        listener.close()
        raise StartRefused(
            f"The port {port} on {host} cannot be used ({error.strerror or error}): "
            "another process may hold it. Choose another port."
        ) from None
    listener.set_inheritable(True)
    return listener


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
    try:
        run_from_arguments(args)
    except StartRefused as refused:
        print(f"toss-sandbox: {refused}", file=sys.stderr)
        return USAGE
    return 0


def _exit_cleanly_on_sigterm() -> None:
    """SIGTERM ends the command with 0, as SIGINT does. uvicorn shuts down gracefully on it, then
    raises the signal again for the handler it found in place: Python's default would end the
    process with 143, a failed run to systemd and Kubernetes."""

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
