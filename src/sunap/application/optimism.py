"""Locking a payment's row only when another change came between our read and our write.

A unit of work that reads a payment, decides through the aggregate and writes it back under
its version check needs no row lock to be right: the versioned write refuses a payment
changed since it was read (StaleAggregate), and nothing of the unit is kept. The lock spares
that refusal by making a second writer wait. On PostgreSQL a locked read costs a transaction
of its own around the work (BEGIN, the locked read, the write, COMMIT: four round trips),
where an unlocked read and a lone guarded write are two (adapters/sql/direct.py). So there
the work runs first without the lock and, only if its write was refused, once more with it,
as it always runs on SQLite and MariaDB.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from .deps import Deps
from .errors import StaleAggregate
from .ports.unit_of_work import UnitOfWork

T = TypeVar("T")

# `work(uow, locked)`: read with `for_update=locked`, decide, commit. It may run twice, so it
# decides from what it reads and keeps nothing of a run whose commit was refused.
Work = Callable[[UnitOfWork, bool], Awaitable[T]]


async def lock_on_conflict(deps: Deps, work: Work[T]) -> T:
    async with deps.uow() as uow:
        if not uow.reads_optimistically:
            return await work(uow, True)
        try:
            return await work(uow, False)
        except StaleAggregate:
            pass  # changed meanwhile: read it again, this time waiting for its other writer
    async with deps.uow() as uow:
        return await work(uow, True)
