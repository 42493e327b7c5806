"""What `sunap` prints for a database it cannot use (exit 3, docs/cli.md): one line naming why."""

from __future__ import annotations

from sunap.adapters.sql.answer_timeout import NoAnswer
from sunap.cli import database_unusable


def test_a_database_that_does_not_answer_in_time_is_one_line_naming_that() -> None:
    line = database_unusable(NoAnswer(60))
    assert line is not None
    assert line.startswith("the database cannot be used (the database did not answer within 60 s)")


def test_an_error_of_something_else_is_not_taken_for_the_databases() -> None:
    assert database_unusable(FileNotFoundError(2, "No such file or directory")) is None
