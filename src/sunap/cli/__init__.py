"""The `sunap` command: `serve | sandbox | migrate | worker | reconcile | keys | tenants |
webhooks | secrets`, on typer. Exit codes are documented in docs/cli.md.

Each module of this package adds its commands with `register(app)`; adding a command group is
one new module and one entry in COMMAND_MODULES.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer

from sunap.config import ConfigurationError

from . import keys, operations, secrets, serve, tenants, webhooks
from .output import INTERRUPTED, OK, USAGE

COMMAND_MODULES = (serve, keys, operations, webhooks, tenants, secrets)


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="sunap",
        help="Payments on Toss Payments.",
        no_args_is_help=True,
        # A traceback with local variables could print a secret key: never.
        pretty_exceptions_enable=False,
        pretty_exceptions_show_locals=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    for module in COMMAND_MODULES:
        module.register(app)
    return app


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and answer its exit code (docs/cli.md)."""
    try:
        build_app()(args=None if argv is None else list(argv), prog_name="sunap")
    except ConfigurationError as refused:
        print(f"sunap: refusing to start: {refused}", file=sys.stderr)
        return USAGE
    except KeyboardInterrupt:
        return INTERRUPTED
    except SystemExit as exited:  # typer ends every run this way, usage errors with 2
        return exited.code if isinstance(exited.code, int) else OK if exited.code is None else 1
    return OK
