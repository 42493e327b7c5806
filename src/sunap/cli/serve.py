"""`sunap serve` and `sunap sandbox`."""

from __future__ import annotations

import logging
import math
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from sunap.config import Settings


def register(app: typer.Typer) -> None:
    app.command(help="The API, the workers and (without a Toss key) the sandbox.")(serve)
    app.command(help="The Toss sandbox on its own.")(sandbox)


def webhook_url_option(value: str | None) -> str | None:
    from sunap_toss_sandbox.accounts import is_webhook_url

    if value is not None and not is_webhook_url(value):
        raise typer.BadParameter("expected an http:// or https:// URL.")
    return value


def seconds_option(value: float | None) -> float | None:
    if value is not None and not 0 <= value < math.inf:  # NaN fails this too
        raise typer.BadParameter("expected seconds, 0 (off) or more.")
    return value


def sandbox(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8090,
    webhook_url: Annotated[
        str | None,
        typer.Option(
            help="Where the sandbox delivers its webhooks (http:// or https://).",
            callback=webhook_url_option,
        ),
    ] = None,
    rate_limit: Annotated[
        str | None,
        typer.Option(
            metavar="N/min",
            help="Answer 429 past N calls a minute per API and key, as Toss's test mode does at 100.",
        ),
    ] = None,
    consecutive_cancel_window: Annotated[
        float | None,
        typer.Option(
            metavar="SECONDS",
            help="Refuse a 2nd cancel of one payment this soon, 403 FORBIDDEN_CONSECUTIVE_REQUEST "
            "(Toss: 1; 0: off).",
            callback=seconds_option,
        ),
    ] = None,
) -> None:
    from sunap.bootstrap import SANDBOX_CONSECUTIVE_CANCEL_WINDOW_SECONDS
    from sunap.config import ConfigurationError
    from sunap_toss_sandbox.pacing import parse_rate_limit
    from sunap_toss_sandbox.server import StartRefused, run

    try:
        per_minute = None if rate_limit is None else parse_rate_limit(rate_limit)
    except ValueError as refused:
        raise typer.BadParameter(str(refused), param_hint="--rate-limit") from None
    exit_cleanly_on_sigterm()
    try:
        run(
            host,
            port,
            webhook_url,
            rate_limit_per_minute=per_minute,
            consecutive_cancel_window_seconds=SANDBOX_CONSECUTIVE_CANCEL_WINDOW_SECONDS
            if consecutive_cancel_window is None
            else consecutive_cancel_window,
        )
    except StartRefused as taken:  # a setting to change, as `sunap serve` says of its ports
        raise ConfigurationError(str(taken)) from None


def configure_logging(level: str, log_format: str) -> None:
    from sunap.entrypoints.log_format import configure_logging as configure

    configure(level, log_format)


def configure_command_logging(settings: Settings) -> None:
    """For a command that runs once and prints its answer: warnings and errors only, unless
    SUNAP_LOG_LEVEL asks for more, so that a script's standard error stays quiet."""
    asked = "SUNAP_LOG_LEVEL" in os.environ
    configure_logging(settings.log_level if asked else "WARNING", settings.log_format)


def serve(
    host: Annotated[str | None, typer.Option(help="Address (default SUNAP_HOST).")] = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="HTTP port (default SUNAP_PORT).")
    ] = None,
    grpc_port: Annotated[
        int | None,
        typer.Option(min=0, max=65535, help="gRPC port (default SUNAP_GRPC_PORT); 0: no gRPC."),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            help="Processes serving on the one port (PostgreSQL or MariaDB with a Toss key: "
            "they coordinate through the database)."
        ),
    ] = 1,
) -> None:
    import uvicorn
    from sqlalchemy.engine import make_url

    from sunap.adapters.brokers.factory import require_client
    from sunap.adapters.sql.migrate import upgrade
    from sunap.bootstrap import build_app, http_url, loopback_url, secret_box
    from sunap.config import Settings
    from sunap.entrypoints.http.protocol import BoundedHttpToolsProtocol

    settings = Settings()
    host = host or settings.host
    port = settings.port if port is None else port
    configure_logging(settings.log_level, settings.log_format)
    refuse_workers(workers, settings)
    require_client(settings.broker_url)  # the broker's extra, not found once the banner is out
    grpc_port = settings.grpc_port if grpc_port is None else grpc_port
    grpc_address = (host, grpc_port) if grpc_port else None
    refuse_taken_ports(host, {"HTTP": port, "gRPC": grpc_port})
    # Refusals first: a refused start leaves no database and no key file behind.
    secret_box(settings)  # a malformed SUNAP_SECRETS_KEY is refused before anything starts
    if make_url(settings.database_url).get_backend_name() == "sqlite":
        migration = upgrade(settings.database_url)  # the embedded default migrates itself
        if (note := migration.left_as_it_is()) is not None:  # after a rollback
            logging.getLogger("sunap.start").info(note)
    self_url = loopback_url(host, port)
    show_banner(banner(settings, http_url(host, port), self_url, grpc_address), settings)
    log_level = settings.log_level.lower()
    if workers == 1:
        exit_cleanly_on_sigterm()
        app = build_app(settings, self_url=self_url, grpc_address=grpc_address)
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level=log_level,
            log_config=None,  # uvicorn's lines go through our handler, in the same format
            access_log=False,
            loop="uvloop",
            http=BoundedHttpToolsProtocol,
        )
        return
    # Each worker process builds its own app from the environment it inherits. A setting that
    # stops one from building stops them all, and uvicorn would start them again forever: the
    # parent builds (and drops) one first, so a bad setting ends here as one process would.
    refuse_unbuildable(settings, self_url)
    os.environ.update(SUNAP_HOST=host, SUNAP_PORT=str(port), SUNAP_GRPC_PORT=str(grpc_port))
    with shared_between_workers(settings):
        uvicorn.run(
            "sunap.cli.serve:worker_app",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level=log_level,
            log_config=None,
            access_log=False,
            loop="uvloop",
            http=BoundedHttpToolsProtocol,
        )


def exit_cleanly_on_sigterm() -> None:
    """SIGTERM ends `sunap serve` and `sunap sandbox` with 0, as SIGINT does. uvicorn shuts down
    gracefully on it, then raises the signal again for the handler it found in place: Python's
    default would end the process with 143, which systemd and Kubernetes count as a failed run.
    (With `--workers`, uvicorn's supervisor already ends with 0.)"""
    import signal

    from .output import OK

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(OK)

    signal.signal(signal.SIGTERM, stop)


@contextmanager
def shared_between_workers(settings: Settings) -> Iterator[None]:
    """What the processes of one `serve --workers N` share, in a private directory named in the
    environment they inherit, gone when serve ends: each API key's rate-limit buckets (so a
    key's limit holds across them) and their metrics (so a scrape of any one counts them all)."""
    from sunap.entrypoints.metrics import SHARED_DIRECTORY_ENV
    from sunap.entrypoints.shared_rate_limit import SHARED_BUCKETS_ENV, create_bucket_file

    remove_left_behind()
    with tempfile.TemporaryDirectory(prefix=f"{WORKERS_DIRECTORY}{os.getpid()}-") as directory:
        shared = {SHARED_DIRECTORY_ENV: str(Path(directory) / "metrics")}
        Path(shared[SHARED_DIRECTORY_ENV]).mkdir()
        if settings.rate_limit_bucket is not None:
            shared[SHARED_BUCKETS_ENV] = str(Path(directory) / "rate-buckets")
            create_bucket_file(Path(shared[SHARED_BUCKETS_ENV]))
        os.environ.update(shared)
        try:
            yield
        finally:
            for name in shared:
                del os.environ[name]


WORKERS_DIRECTORY = "sunap-workers-"  # then the parent's pid: whose directory it is


def remove_left_behind() -> None:
    """The directories of `serve --workers N` runs whose parent is gone (killed with kill -9,
    it could not remove its own)."""
    import shutil

    for directory in Path(tempfile.gettempdir()).glob(f"{WORKERS_DIRECTORY}*-*"):
        pid = directory.name.removeprefix(WORKERS_DIRECTORY).split("-", 1)[0]
        if pid.isdigit() and directory.stat().st_uid == os.getuid() and not _alive(int(pid)):
            shutil.rmtree(directory, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        return True
    return True


def refuse_unbuildable(settings: Settings, self_url: str) -> None:
    """What a worker process will build, built once and closed: its error, if any, is raised."""
    import asyncio

    from sunap.bootstrap import build_runtime

    async def build_and_close() -> None:
        runtime = build_runtime(settings, self_url=self_url)
        await runtime.aclose()

    asyncio.run(build_and_close())


def worker_app() -> Any:
    """The app of one `--workers` process; gRPC shares its port between them (SO_REUSEPORT)."""
    from sunap.bootstrap import build_app, loopback_url
    from sunap.config import Settings

    end_with_the_parent()
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    grpc_address = (settings.host, settings.grpc_port) if settings.grpc_port else None
    self_url = loopback_url(settings.host, settings.port)
    return build_app(settings, self_url=self_url, grpc_address=grpc_address, grpc_port_shared=True)


def end_with_the_parent() -> None:
    """A worker process is asked to stop (SIGTERM, a graceful shutdown) when its parent dies,
    even by kill -9: orphans would go on serving the port with nobody to restart or stop them."""
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: an orphan is the operator's to stop
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


def refuse_workers(workers: int, settings: Settings) -> None:
    """Several processes are safe only where they share everything through the database: not
    on SQLite (one writer; its writers queue in process memory, so several processes would spin
    in SQLite's busy handler instead), nor with the embedded sandbox (its books live in the
    memory of each process, so a payment paid in one would be unknown to the next)."""
    from sqlalchemy.engine import make_url

    from sunap.config import ConfigurationError

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


def refuse_taken_ports(host: str, ports: dict[str, int]) -> None:
    """A port another process holds is a setting to change (exit 2, one line), found before
    anything starts; found by the servers, it was a traceback after the banner."""
    import socket

    from sunap.config import ConfigurationError

    for door, port in ports.items():
        if not port:
            continue
        try:
            family, kind, proto, _, address = socket.getaddrinfo(
                host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )[0]
            with socket.socket(family, kind, proto) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
                probe.bind(address)
        except OSError as taken:
            raise ConfigurationError(
                f"The {door} port {port} on {host} cannot be used ({taken.strerror or taken}): "
                f"another process may hold it. Choose another port."
            ) from None


def show_banner(text: str, settings: Settings) -> None:
    """Printed for a person reading a terminal; with SUNAP_LOG_FORMAT=json, logged instead, one
    JSON line per line of it, so that every line of the output is JSON."""
    if settings.log_format == "json":
        log = logging.getLogger("sunap.start")
        for line in text.splitlines():
            log.log(logging.WARNING if line.startswith("***") else logging.INFO, line)
    else:
        print(text, flush=True)


def banner(
    settings: Settings, listen_url: str, self_url: str, grpc_address: tuple[str, int] | None
) -> str:
    from sunap.adapters.sql.masked_url import masked_database_url
    from sunap.bootstrap import SANDBOX_MOUNT, http_url

    lines = [
        f"Sunap listening on {listen_url} (database: {masked_database_url(settings.database_url)})",
        # host:port as gRPC clients write it: http_url's without its scheme ([::1]:9087)
        f"gRPC (sunap.v1.PaymentService, health, reflection) on {http_url(*grpc_address).removeprefix('http://')}"
        if grpc_address
        else "gRPC: off (port 0)",
    ]
    if settings.sandbox_mode:
        lines += [
            "*** SANDBOX MODE: no TOSS_SECRET_KEY set. Payments go to the built-in Toss sandbox",
            f"*** at {self_url}{SANDBOX_MOUNT} — no real money moves. Set TOSS_SECRET_KEY for Toss.",
            f"*** Its control plane at {SANDBOX_MOUNT}/sandbox is open to anyone who reaches this "
            "port: keep a sandbox-mode service within the team.",
        ]
    else:
        lines.append(f"Toss API: {settings.toss_api_base_url}")
        if not settings.toss_client_key:
            lines.append(
                "*** No TOSS_CLIENT_KEY: the hosted checkout page answers 503 for payments on "
                "the default account (Toss's payment window needs the client key)."
            )
    lines.append(
        f"Events: {'broker configured' if settings.broker_url else 'written to the log (no SUNAP_BROKER_URL)'}"
    )
    public_url = (settings.public_url or self_url).rstrip("/")
    lines.append(f"Dashboard: {public_url}/dashboard · hosted checkout: {public_url}/checkout/…")
    return "\n".join(lines)
