"""A database outage in the log: one line when something first finds the database gone, one when
it works again, and nothing in between, however often it retries meanwhile. An outage is the same
for every caller at once and no bug of theirs: no traceback (the error's first line says which
outage), where each retry's traceback flooded the log (2,428 lines in 21 s of a PostgreSQL
outage, from six workers and the /metrics scrapes)."""

from __future__ import annotations

import logging


class OutageLog:
    def __init__(self, log: logging.Logger, failing: str, back: str) -> None:
        """`failing` is logged (a WARNING) with the error's first line after it, as
        `<failing> (<error>)`; `back` (INFO) once it works again."""
        self._log = log
        self._failing = failing
        self._back = back
        self._ongoing = False

    def failed(self, error: BaseException) -> None:
        """Something found the database unreachable (`engine.is_outage`)."""
        if not self._ongoing:
            self._log.warning("%s (%s)", self._failing, first_line(error))
        self._ongoing = True

    def worked(self) -> None:
        """Something that needs the database worked."""
        if self._ongoing:
            self._log.info(self._back)
        self._ongoing = False


def first_line(error: BaseException) -> str:
    """The error's type and first line: database errors hide their parameters, and the rest (the
    statement, SQLAlchemy's link to its docs) says nothing more of an outage."""
    return f"{type(error).__name__}: {str(error).partition(chr(10))[0][:200]}"
