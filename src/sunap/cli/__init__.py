"""The `sunap` command: `serve | sandbox | migrate | worker | reconcile | keys | tenants |
webhooks | secrets`, on typer. Exit codes are documented in docs/cli.md.

Each module of this package adds its commands with `register(app)`; adding a command group is
one new module and one entry in COMMAND_MODULES.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import typer

# typer vendors click as typer._click (0.2x): its usage errors are that module's, not click's.
from typer._click.core import Context
from typer._click.exceptions import NoArgsIsHelpError, UsageError
from typer.core import TyperGroup

from . import billing, keys, operations, secrets, serve, tenants, webhooks
from .output import DATABASE, INTERRUPTED, OK, USAGE

COMMAND_MODULES = (serve, keys, operations, webhooks, tenants, secrets, billing)


class OneLineUsageErrors(TyperGroup):
    """`sunap`'s top command: a usage error (an unknown option, a bad value such as `--port
    notanumber`, a missing argument) of any command is one line on stderr and exit 2, as a
    refused setting is, not typer's usage and boxed error."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: Context | None = None,
        **extra: Any,
    ) -> Context:
        with usage_errors_in_one_line():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: Context) -> Any:
        # The subcommands parse their options here, and raise their own BadParameter here.
        with usage_errors_in_one_line():
            return super().invoke(ctx)


@contextmanager
def usage_errors_in_one_line() -> Iterator[None]:
    try:
        yield
    except NoArgsIsHelpError:  # `sunap keys` alone: the help was shown, typer exits with 2
        raise
    except UsageError as error:
        print(usage_line(error), file=sys.stderr)
        raise typer.Exit(USAGE) from None


def usage_line(error: UsageError) -> str:
    """`sunap serve: Invalid value for '--port': … (try 'sunap serve -h')`: the command, what
    click found wrong (never wrapped over lines), and where its options are listed."""
    message = " ".join(error.format_message().split())
    if error.ctx is None:  # raised before the command's context was made
        return f"sunap: {message}"
    command = error.ctx.command_path
    return f"{command}: {message} (try '{command} -h')"


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="sunap",
        cls=OneLineUsageErrors,
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
