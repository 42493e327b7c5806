"""An SQLite file that cannot be opened (its directory does not exist) fails the command that
asked for it, and nothing else: aiosqlite closes the connection it could not open on a thread
of its own, which then reports back to the event loop. A `sunap` command ends its loop as soon
as the error reaches it, so a report still on its way found the loop closed and became a
thread's traceback on stderr, about every other run, beside the command's one line (docs/cli.md).
The engine now waits for that thread before the error goes on."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from sunap.adapters.sql.engine import create_engine

ATTEMPTS = 20  # each ends as a command does: the loop closes as the error arrives


async def open_missing(path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    finally:
        await engine.dispose()


def test_a_file_that_cannot_be_opened_leaves_no_thread_reporting_to_a_closed_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reported: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda hook: reported.append(hook.exc_value))
    before = set(threading.enumerate())
    for _ in range(ATTEMPTS):
        with pytest.raises(OperationalError, match="unable to open database file"):
            asyncio.run(open_missing(tmp_path / "no-such-dir" / "x.db"))
    for thread in set(threading.enumerate()) - before:
        thread.join(timeout=10)
    assert reported == []
