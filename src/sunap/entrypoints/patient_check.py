"""A check of the database that its caller waits for a few seconds at most: `/readyz` must answer
(a load balancer and a probe wait a few seconds, then count a failure, never an answer), and
`/metrics` must serve what it has, whatever the database does. A database that accepts connections
and never answers holds a statement until the statement timeout (answer_timeout.py, a minute):
too long for them.

The check runs as a task of its own, one at a time: a caller joins the run in flight, or starts
one, and waits for it until the run is `patience` old; past that it gets the impatient answer
while the run goes on by itself, to end with the statement timeout or as soon as the database
answers. So the probes of a frozen database hold one connection between them, not one each, and
once a run has outlived its patience every probe is answered at once instead of waiting again."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")

# Seconds `/readyz` and `/metrics` wait for the database unless SUNAP_READINESS_TIMEOUT_SECONDS
# says otherwise: far more than a healthy one takes (a SELECT 1, a count of the unpublished
# events, milliseconds), less than a load balancer's usual probe timeout (5 s).
READINESS_SECONDS = 3.0


class PatientCheck(Generic[T]):
    def __init__(
        self, check: Callable[[], Awaitable[T]], impatient: T, patience: float = READINESS_SECONDS
    ) -> None:
        """`check` answers rather than raises: what it raises reaches every caller waiting."""
        self._check = check
        self._impatient = impatient
        self._patience = patience
        self._run: asyncio.Task[T] | None = None
        self._deadline = 0.0  # the loop's time at which the run in flight outlives its patience

    async def __call__(self) -> T:
        loop = asyncio.get_running_loop()
        run = self._run
        if run is None or run.done():
            run = self._run = asyncio.create_task(self._checked(), name="sunap-database-check")
            self._deadline = loop.time() + self._patience
        try:
            # shield: the caller giving up (or leaving) does not cut the run short; a statement
            # cancelled midway would leave its connection to be thrown away.
            return await asyncio.wait_for(asyncio.shield(run), self._deadline - loop.time())
        except TimeoutError:
            return self._impatient

    async def _checked(self) -> T:
        return await self._check()
