"""A circuit breaker in front of Toss: stop piling calls onto a PG that is not answering.

closed → (N consecutive transport failures or 5xx) → open → (cool-off) → half-open → one probe:
success closes it, failure opens it again.

Decision on look-ups: they count toward the breaker like every call, and are refused while it is
open (a reconciler sweeping hundreds of in-doubt payments must not hammer a dead PG; a refused
look-up is GatewayUnknown, so nothing is ever marked failed because of the breaker — the payment
stays in doubt and is swept again later). Once the cool-off has passed, look-ups are let through
freely, without waiting for the single probe slot that money-moving calls share: they are safe
reads, and the first one that succeeds closes the breaker for everyone.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable


class BreakerState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        cool_off: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        self._threshold = failure_threshold
        self._cool_off = cool_off
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probe_in_flight = False
        # The sync client may be shared by threads; the async one needs no lock, and an
        # uncontended lock costs well under a microsecond.
        self._lock = threading.Lock()

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at < self._cool_off:
            return BreakerState.OPEN
        return BreakerState.HALF_OPEN

    @property
    def is_open(self) -> bool:
        """True when a new confirm would be refused right now: check it before claiming a payment."""
        state = self.state
        return state is BreakerState.OPEN or (
            state is BreakerState.HALF_OPEN and self._probe_in_flight
        )

    def allow(self, *, read_only: bool = False) -> bool:
        """May a request go out now? A True for a money-moving call in half-open takes the probe."""
        with self._lock:
            state = self.state
            if state is BreakerState.CLOSED:
                return True
            if state is BreakerState.OPEN:
                return False
            if read_only:
                return True
            if self._probe_in_flight:
                return False
            self._probe_in_flight = True
            return True

    def abandon(self) -> None:
        """A call that was let through ended with no answer either way (it was cancelled)."""
        with self._lock:
            self._probe_in_flight = False

    def reset(self) -> None:
        """Closed, as new: for a host that knows the PG was put right (a test PG's faults were
        cleared), rather than a probe finding it."""
        self.record_success()

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._probe_in_flight = False

    def record_failure(self) -> None:
        with self._lock:
            self._probe_in_flight = False
            if self._opened_at is not None:
                # A failed probe (or a failure that was in flight when it opened) restarts the cool-off.
                self._opened_at = self._clock()
                return
            self._failures += 1
            if self._failures >= self._threshold:
                self._opened_at = self._clock()
