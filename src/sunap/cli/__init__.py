"""The `sunap` command: `serve | sandbox | migrate | worker | reconcile | keys | tenants |
webhooks | secrets`, on typer. Exit codes are documented in docs/cli.md.

Each module of this package adds its commands with `register(app)`; adding a command group is
one new module and one entry in COMMAND_MODULES.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer

from . import billing, keys, operations, secrets, serve, tenants, webhooks
from .output import DATABASE, INTERRUPTED, OK, USAGE

COMMAND_MODULES = (serve, keys, operations, webhooks, tenants, secrets, billing)


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
    except KeyboardInterrupt:
        return INTERRUPTED
    except SystemExit as exited:  # typer ends every run this way, usage errors with 2
        return exited.code if isinstance(exited.code, int) else OK if exited.code is None else 1
    except Exception as error:
        if (refusal := configuration_refused(error)) is not None:
            print(f"sunap: refusing to start: {refusal}", file=sys.stderr)
            return USAGE
        if (unusable := database_unusable(error)) is not None:
            print(f"sunap: {unusable}", file=sys.stderr)
            return DATABASE
        raise
    return OK


def configuration_refused(error: Exception) -> str | None:
    """What is wrong with the settings, if that is what `error` says; never a setting's value."""
    # Imported here, not at the top: `--help` and shell completion need none of it.
    from pydantic import ValidationError

    from sunap.adapters.drivers import MissingDriver
    from sunap.config import ConfigurationError

    if isinstance(error, ConfigurationError | MissingDriver):
        return str(error)
    if isinstance(error, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}"
            for e in error.errors()
        )
    return None


def database_unusable(error: Exception) -> str | None:
    """The database cannot be reached, refuses our role, does not exist or has no schema yet, on
    any backend. Only the driver's first line is shown: such an error names no row, but the
    statement's parameters might."""
    from sqlalchemy.exc import DBAPIError

    from sunap.adapters.crypto.fernet_box import KeyFileUnusable
    from sunap.adapters.sql.answer_timeout import NoAnswer
    from sunap.adapters.sql.engine import is_unusable
    from sunap.adapters.sql.migrate import ForeignSchema

    # A key file beside the SQLite file, where that cannot be either; a schema not Sunap's; a
    # database that accepts connections and does not answer.
    if isinstance(error, KeyFileUnusable | ForeignSchema | NoAnswer):
        reason = str(error)
    elif isinstance(error, ConnectionError):  # the driver could not even connect
        reason = str(error).splitlines()[0]
    elif isinstance(error, DBAPIError) and is_unusable(error):
        reason = str(error.orig).splitlines()[0] if error.orig is not None else "unreachable"
    else:
        return None
    return (
        f"the database cannot be used ({reason}). Check "
        "SUNAP_DATABASE_URL, and run `sunap migrate` on a new database."
    )
