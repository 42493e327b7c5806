"""Run one unit of background work over and over: at once while there is work, otherwise after a
pause; an error is logged and counted, then retried after a growing pause. Never crashes the host.

A failure the step expects and reports itself (the relay's broker being down: its own log line
and `sunap_relay_errors_total`) is retried the same way but is no crash: no traceback, and not
counted in `sunap_worker_errors_total`, which stays the count of unexpected errors."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sunap.application import log_context
from sunap.entrypoints.metrics import Metrics

log = logging.getLogger("sunap.workers")

MAX_ERROR_PAUSE = 30.0


@dataclass
class Worker:
    name: str
    step: Callable[[], Awaitable[int]]  # does one batch; returns how many items it handled
    poll_seconds: float = 1.0
    # Failures the step has already logged and counted as its own: retried, not a crash.
    reported: tuple[type[Exception], ...] = ()

    async def run(self, metrics: Metrics, stop: asyncio.Event) -> None:
        pause_after_error = self.poll_seconds
        while not stop.is_set():
            try:
                with log_context.scope():  # what one batch bound is not told of the next
                    handled = await self.step()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if not isinstance(error, self.reported):
                    log.exception(
                        "worker %s failed; retrying in %.1fs", self.name, pause_after_error
                    )
                    metrics.worker_errors.labels(worker=self.name).inc()
                await _sleep_unless(stop, pause_after_error)
                pause_after_error = min(pause_after_error * 2, MAX_ERROR_PAUSE)
                continue
            pause_after_error = self.poll_seconds
            if handled == 0:
                await _sleep_unless(stop, self.poll_seconds)


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


class WorkerGroup:
    """Starts workers as tasks and stops them together."""

    def __init__(self, workers: list[Worker], metrics: Metrics) -> None:
        self._workers = workers
        self._metrics = metrics
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._stop.clear()
        for worker in self._workers:  # at 0 from the start, like every counter's known labels
            self._metrics.worker_errors.labels(worker=worker.name)
        self._tasks = [
            asyncio.create_task(w.run(self._metrics, self._stop), name=f"sunap-{w.name}")
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
