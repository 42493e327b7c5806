"""Run one unit of background work over and over: at once while there is work, otherwise after a
pause; an error is logged and counted, then retried after a growing pause. Never crashes the host.

A failure the step expects and reports itself (the relay's broker being down: its own log line
and `sunap_relay_errors_total`) is retried the same way but is no crash: no traceback, and not
counted in `sunap_worker_errors_total`, which stays the count of unexpected errors.

Nor is the database being out of reach (`is_outage`: refused, lost, timed out): the same for
every worker at once, and no bug of theirs. Each worker logs one line when it finds the database
gone and one when it is back (outage_log.py), and counts each retry in
`sunap_worker_database_unavailable_total`; it logged a traceback per retry per worker and
counted them as unexpected errors, which paged (SunapWorkersFailing)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sunap.application import log_context
from sunap.entrypoints.metrics import Metrics
from sunap.entrypoints.outage_log import OutageLog

log = logging.getLogger("sunap.workers")

MAX_ERROR_PAUSE = 30.0


def never_an_outage(_error: BaseException) -> bool:
    return False


@dataclass
class Worker:
    name: str
    step: Callable[[], Awaitable[int]]  # does one batch; returns how many items it handled
    poll_seconds: float = 1.0
    # Failures the step has already logged and counted as its own: retried, not a crash.
    reported: tuple[type[Exception], ...] = ()

    async def run(
        self,
        metrics: Metrics,
        stop: asyncio.Event,
        is_outage: Callable[[BaseException], bool] = never_an_outage,
    ) -> None:
        """`is_outage`: whether an error says the database cannot be reached or used just now."""
        pause_after_error = self.poll_seconds
        outage = OutageLog(
            log,
            f"worker {self.name}: the database is unreachable; retrying until it is back",
            f"worker {self.name}: the database is back",
        )
        while not stop.is_set():
            try:
                with log_context.scope():  # what one batch bound is not told of the next
                    handled = await self.step()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if isinstance(error, self.reported):
                    pass
                elif is_outage(error):
                    metrics.worker_database_unavailable.labels(worker=self.name).inc()
                    outage.failed(error)
                else:
                    log.exception(
                        "worker %s failed; retrying in %.1fs", self.name, pause_after_error
                    )
                    metrics.worker_errors.labels(worker=self.name).inc()
                await _sleep_unless(stop, pause_after_error)
                pause_after_error = min(pause_after_error * 2, MAX_ERROR_PAUSE)
                continue
            outage.worked()
            pause_after_error = self.poll_seconds
            if handled == 0:
                await _sleep_unless(stop, self.poll_seconds)


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


class WorkerGroup:
    """Starts workers as tasks and stops them together."""

    def __init__(
        self,
        workers: list[Worker],
        metrics: Metrics,
        *,
        is_outage: Callable[[BaseException], bool] = never_an_outage,
    ) -> None:
        self._workers = workers
        self._metrics = metrics
        self._is_outage = is_outage
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._stop.clear()
        for worker in self._workers:  # at 0 from the start, like every counter's known labels
            self._metrics.worker_errors.labels(worker=worker.name)
            self._metrics.worker_database_unavailable.labels(worker=worker.name)
        self._tasks = [
            asyncio.create_task(
                w.run(self._metrics, self._stop, self._is_outage), name=f"sunap-{w.name}"
            )
            for w in self._workers
        ]

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            try:
                await asyncio.wait_for(task, timeout=10)
            except TimeoutError:
                task.cancel()
        self._tasks = []

    async def wait(self) -> None:
        await asyncio.gather(*self._tasks)
