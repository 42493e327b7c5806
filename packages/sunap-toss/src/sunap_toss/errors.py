"""What a Toss call can end with other than an answer, in five kinds.

`TossDeclined`: Toss (or the issuer, the bank, its risk engine) said no; nothing moved.
`TossUnknown`: no usable answer (timeout, dropped connection, 5xx, an unlisted code): the money
may or may not have moved — look the payment up, never treat it as failed.
`TossAlreadyProcessed`: the thing was already done (often by our own earlier attempt).
`TossNotFound`: no such payment, billing key or session.
`TossMisconfigured`: our key or our request is wrong; fix the setup, don't retry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Exchange:
    """One call as it may be kept in an audit trail: bodies redacted, the billing key out of the path."""

    operation: str
    method: str
    path: str
    request_data: dict[str, Any] | None
    response_data: dict[str, Any] | None
    status_code: int | None  # None when no answer came back
    processing_time_ms: int
    outcome: str  # "ok" or a Verdict value
    trace_id: str | None = None  # X-TossPayments-Trace-Id: quote it to Toss's support
    # The Idempotency-Key the request went out under (None: a GET, which carries none): the key
    # Toss's own records know the call by, and which ties a replay to the first call.
    idempotency_key: str | None = None
    # The attempts this call made before this one (retried with the same Idempotency-Key),
    # oldest first: every HTTP request Toss received belongs in the trail.
    earlier: tuple[Exchange, ...] = ()


class TossError(Exception):
    def __init__(self, code: str, message: str, *, exchange: Exchange | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.exchange = exchange

    @property
    def trace_id(self) -> str | None:
        """Toss's X-TossPayments-Trace-Id of the last answer, when one came back."""
        return self.exchange.trace_id if self.exchange is not None else None

    @property
    def status_code(self) -> int | None:
        return self.exchange.status_code if self.exchange is not None else None


class TossDeclined(TossError):
    """A definitive no: nothing was charged or refunded."""


class TossUnknown(TossError):
    """No usable answer: the outcome is unknown until the payment is looked up."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        timed_out: bool = False,
        exchange: Exchange | None = None,
    ) -> None:
        super().__init__(code, message, exchange=exchange)
        self.timed_out = timed_out


class TossAlreadyProcessed(TossError):
    """Already done, maybe by an earlier attempt of ours: look it up."""


class TossNotFound(TossError):
    """No such payment, billing key or payment-window session."""


class TossMisconfigured(TossError):
    """Our key or our request is wrong: alert someone; retrying will not help."""
