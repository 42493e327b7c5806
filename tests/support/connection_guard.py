"""A pytest plugin: a test fails when one asyncio task takes a second pooled database connection
while it holds one.

Sunap must never do that: a transaction that holds a connection (and maybe a row lock) and waits
for another can wait forever once every pooled connection is held the same way. The in-process
tests (integration, the sandbox's) run Sunap's real code on real pools, so every code path they
reach is checked. A test that holds two connections on purpose (to race itself) says so with
`@pytest.mark.holds_two_connections`.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Generator
from typing import Any

import greenlet
import pytest
from sqlalchemy import event
from sqlalchemy.pool import Pool

MARK = "holds_two_connections"

_held: defaultdict[asyncio.Task[Any], set[int]] = defaultdict(set)
_holder: dict[int, asyncio.Task[Any]] = {}
_second_takes: list[str] = []


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no event loop in this thread: a sync engine, not ours to judge
        return None


def _where() -> str:
    """Our frames of the task that checks out (the coroutine side lives in the greenlet's
    parents: the pool runs inside SQLAlchemy's greenlet bridge)."""
    lines: list[str] = []
    current = greenlet.getcurrent()
    parent = current.parent
    while parent is not None:
        frame = parent.gr_frame
        while frame is not None:
            name = frame.f_code.co_filename
            if "/src/sunap/" in name or "/tests/" in name:
                short = name[name.index("/src/sunap/") + 5 :] if "/src/sunap/" in name else name
                lines.append(f"  {short}:{frame.f_lineno} in {frame.f_code.co_name}")
            frame = frame.f_back
        parent = parent.parent
    return "\n".join(lines[:12])


@event.listens_for(Pool, "checkout")
def _checked_out(_dbapi: Any, record: Any, _proxy: Any) -> None:
    task = _current_task()
    if task is None:
        return
    if _held[task]:
        _second_takes.append(_where())
    _held[task].add(id(record))
    _holder[id(record)] = task


@event.listens_for(Pool, "checkin")
def _checked_in(_dbapi: Any, record: Any) -> None:
    task = _holder.pop(id(record), None)
    if task is not None:
        _held[task].discard(id(record))
        if not _held[task]:
            del _held[task]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARK}: the test itself holds two pooled connections in one task"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    _second_takes.clear()
    result = yield
    if _second_takes and item.get_closest_marker(MARK) is None:
        first = _second_takes[0]
        _second_takes.clear()
        raise AssertionError(
            "A task took a second pooled connection while holding one (a transaction waiting "
            f"on another connection can wait forever when the pool is full):\n{first}"
        )
    return result
