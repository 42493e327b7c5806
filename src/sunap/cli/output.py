"""How every command prints: tab-separated rows or JSON on stdout, progress and errors on stderr.

Standard output carries only the answer, so `sunap … --json | jq` and `cut -f1` both work while
a progress bar is drawn on the terminal beside it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

T = TypeVar("T")

# Exit codes, documented in docs/cli.md.
OK = 0
FAILED = 1  # the command ran and what it was asked for did not happen
USAGE = 2  # bad options or a configuration Sunap refuses (click also uses 2 for usage errors)
DATABASE = 3  # the database cannot be reached, or has no schema yet
INTERRUPTED = 130

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
TENANT_NAME_LIMIT = 200  # the tenants table's column


def tenant_name(value: str) -> str:
    """A tenant's name as given, refused when it could not be a tenant's: empty, padded, too
    long, holding a control character, or a `/` (its webhook URL ends with the name)."""
    if not value.strip():
        raise typer.BadParameter("the tenant's name is empty.")
    if value != value.strip():
        raise typer.BadParameter("the tenant's name starts or ends with a space.")
    if len(value) > TENANT_NAME_LIMIT:
        raise typer.BadParameter(
            f"the tenant's name is longer than {TENANT_NAME_LIMIT} characters."
        )
    if not value.isprintable() or "/" in value:
        raise typer.BadParameter("the tenant's name holds a control character or a '/'.")
    return value


TenantOption = Annotated[
    str, typer.Option("--tenant", help="The tenant's name.", callback=tenant_name)
]


def iso_moment(text: str) -> datetime:
    """An option's ISO 8601 time, in UTC; one without its offset is refused, not guessed."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"not an ISO 8601 time: {text!r}") from None
    if moment.tzinfo is None:
        raise typer.BadParameter("give the time with its offset, e.g. +09:00 or Z")
    return moment.astimezone(UTC)


def print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


def print_rows(header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """A header line then one tab-separated line per row; `None` prints as `-`."""
    print("\t".join(header))
    for row in rows:
        print("\t".join("-" if cell is None else str(cell) for cell in row))


def say(message: str) -> None:
    """A message for the person at the terminal: standard error, never the answer."""
    print(message, file=sys.stderr)


def fail(message: str, code: int = FAILED) -> NoReturn:
    print(f"sunap: {message}", file=sys.stderr)
    raise typer.Exit(code)


def _stderr() -> Console:
    return Console(stderr=True)


@contextmanager
def progress(description: str, total: int) -> Iterator[Progress]:
    """A bar on the terminal's stderr; nothing at all when stderr is a pipe or a file."""
    console = _stderr()
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=True,
    )
    with bar:
        bar.add_task(description, total=total)
        yield bar


def tracked(items: Sequence[T], description: str) -> Iterator[T]:
    """Each item in turn, advancing a progress bar as it goes."""
    with progress(description, len(items)) as bar:
        task = bar.task_ids[0]
        for item in items:
            yield item
            bar.advance(task)
