"""One Toss call, done carefully: auth, timeouts, retries with the same key, the breaker,
classification of the answer, a redacted exchange for the audit trail, and one log line per
HTTP attempt.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from sunap.application.gateway import (
    GatewayAlreadyProcessed,
    GatewayDeclined,
    GatewayError,
    GatewayExchange,
    GatewayMisconfigured,
    GatewayNotFound,
    GatewayUnknown,
)

from .breaker import CircuitBreaker
from .codes import Operation, Verdict, classify, is_retryable_answer
from .redaction import redact, redact_text
from .retry import RetryPolicy

logger = logging.getLogger("sunap.toss")
TRACE_ID_HEADER = "X-TossPayments-Trace-Id"

MAX_IDEMPOTENCY_KEY_LENGTH = 300  # Toss answers INVALID_IDEMPOTENCY_KEY above this
_RAW_BODY_KEPT = 2000  # characters of a non-JSON body kept for the audit trail

_ERRORS: dict[Verdict, type[GatewayError]] = {
    Verdict.DECLINED: GatewayDeclined,
    Verdict.ALREADY_PROCESSED: GatewayAlreadyProcessed,
    Verdict.NOT_FOUND: GatewayNotFound,
    Verdict.MISCONFIGURED: GatewayMisconfigured,
}


@dataclass(frozen=True)
class TossTimeouts:
    """Explicit timeouts in seconds (httpx's defaults are not ours to rely on)."""

    connect: float = 3.0
    read: float = 30.0
    write: float = 10.0
    pool: float = 3.0
    billing_read: float = 60.0  # Toss: a billing charge may take up to 60 s


@dataclass(frozen=True)
class TossRequest:
    operation: Operation
    method: str
    path: str  # as sent
    audit_path: str  # as logged and audited: no billing key in it
    body: dict[str, Any] | None = None
    idempotency_key: str | None = None
    read_timeout: float | None = None  # None: TossTimeouts.read

    @property
    def read_only(self) -> bool:
        return self.method == "GET"

    @property
    def replayable(self) -> bool:
        """Sending it twice does what sending it once does: GET/DELETE, or a POST with a key."""
        return self.method != "POST" or self.idempotency_key is not None


@dataclass(frozen=True)
class TossAnswer:
    data: Any  # the parsed JSON body (Decimal for non-integers), None when empty
    exchange: GatewayExchange

    @property
    def trace_id(self) -> str | None:
        """Toss's X-TossPayments-Trace-Id: what Toss support asks for about this call."""
        return self.exchange.trace_id


@dataclass(frozen=True)
class _Failed:
    error: GatewayError
    verdict: Verdict
    retryable: bool


class _NotJson(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _NotJson(f"{name} is not a number we accept")


def parse_json(text: str) -> Any:
    """Toss JSON with every non-integer as Decimal: no float ever reaches money."""
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise _NotJson(str(exc)) from exc


class TossApi:
    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        authorization: str,
        base_url: str,
        clock: Callable[[], float],
        retry_policy: RetryPolicy,
        breaker: CircuitBreaker | None,
        timeouts: TossTimeouts,
    ) -> None:
        self._client = client
        self._authorization = authorization
        self._base_url = base_url.rstrip("/")
        self._clock = clock
        self._retry = retry_policy
        self._breaker = breaker
        self._timeouts = timeouts

    def __repr__(self) -> str:
        return f"TossApi(base_url={self._base_url!r})"

    async def call(self, request: TossRequest) -> TossAnswer:
        """The answer to `request`, or the GatewayError that classifies why there is none.

        Every attempt carries the same Idempotency-Key, so Toss replays rather than repeats.
        """
        if request.idempotency_key is not None and not (
            0 < len(request.idempotency_key) <= MAX_IDEMPOTENCY_KEY_LENGTH
        ):
            raise GatewayMisconfigured(
                "INVALID_IDEMPOTENCY_KEY",
                f"An Idempotency-Key must be 1–{MAX_IDEMPOTENCY_KEY_LENGTH} characters.",
                exchange=self._exchange(request, None, None, 0, Verdict.MISCONFIGURED),
            )
        started = self._clock()
        attempt = 1
        failed: _Failed | None = None
        timed_out = False
        while True:
            if self._breaker is not None and not self._breaker.allow(read_only=request.read_only):
                if failed is None:
                    raise self._circuit_open(request)
                raise _last(failed, timed_out)  # the breaker opened while we were retrying
            result = await self._attempt(request, attempt, started)
            if isinstance(result, TossAnswer):
                return result
            failed = result
            timed_out = timed_out or _timed_out(failed)
            if not failed.retryable or attempt >= self._retry.max_attempts:
                raise _last(failed, timed_out)
            delay = self._retry.delay_before(attempt + 1)
            if self._clock() + delay - started >= self._retry.max_elapsed:
                raise _last(failed, timed_out)
            await self._retry.sleep(delay)
            attempt += 1

    async def _attempt(
        self, request: TossRequest, attempt: int, started: float
    ) -> TossAnswer | _Failed:
        sent_at = self._clock()
        try:
            response = await self._client.request(
                request.method,
                self._base_url + request.path,
                json=request.body,
                headers=self._headers(request),
                timeout=self._timeout(request, attempt, started),
            )
        except httpx.RequestError as exc:  # transport errors, and a body that cannot be decoded
            failed = self._transport_failure(request, exc, started)
            self._record(healthy=False)
            self._log(request, attempt, sent_at, None, failed.error.code, failed.verdict)
            return failed
        except BaseException:
            if self._breaker is not None:
                self._breaker.abandon()
            raise
        self._record(healthy=response.status_code < 500)
        result = self._answer(request, response, started)
        if isinstance(result, TossAnswer):
            self._log(request, attempt, sent_at, response.status_code, None, None)
        else:
            self._log(
                request, attempt, sent_at, response.status_code, result.error.code, result.verdict
            )
        return result

    def _answer(
        self, request: TossRequest, response: httpx.Response, started: float
    ) -> TossAnswer | _Failed:
        status = response.status_code
        text = response.text
        trace_id = response.headers.get(TRACE_ID_HEADER)
        try:
            data = parse_json(text) if text.strip() else None
        except _NotJson:
            exchange = self._exchange(
                request, status, _raw(text), self._ms(started), Verdict.UNKNOWN, trace_id
            )
            return _Failed(
                GatewayUnknown(
                    "MALFORMED_RESPONSE" if status < 400 else f"HTTP_{status}",
                    f"Toss answered {status} with a body that is not JSON.",
                    exchange=exchange,
                ),
                Verdict.UNKNOWN,
                retryable=status >= 400 and is_retryable_answer(status, None),
            )
        if 200 <= status < 300:
            return TossAnswer(
                data, self._exchange(request, status, data, self._ms(started), None, trace_id)
            )
        code, message = _code_and_message(data)
        verdict = classify(request.operation, status, code)
        exchange = self._exchange(request, status, data, self._ms(started), verdict, trace_id)
        shown_code = code or f"HTTP_{status}"
        shown_message = redact_text(message or f"Toss answered {status}.")
        if verdict is Verdict.UNKNOWN:
            return _Failed(
                GatewayUnknown(shown_code, shown_message, exchange=exchange),
                verdict,
                # A 5xx may have been applied: only a request Toss will replay is sent again.
                retryable=is_retryable_answer(status, code)
                and (status < 500 or request.replayable),
            )
        error = _ERRORS[verdict](shown_code, shown_message, exchange=exchange)
        return _Failed(error, verdict, retryable=False)

    def _transport_failure(
        self, request: TossRequest, exc: httpx.RequestError, started: float
    ) -> _Failed:
        exchange = self._exchange(request, None, None, self._ms(started), Verdict.UNKNOWN)
        if isinstance(exc, httpx.DecodingError):
            error = GatewayUnknown(
                "MALFORMED_RESPONSE", "Toss's answer could not be decoded.", exchange=exchange
            )
            return _Failed(error, Verdict.UNKNOWN, retryable=False)
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
            # Nothing left this process: always safe to try again.
            error = GatewayUnknown(
                "CONNECTION_FAILED",
                f"Could not reach Toss: {type(exc).__name__}.",
                exchange=exchange,
            )
            return _Failed(error, Verdict.UNKNOWN, retryable=True)
        if isinstance(exc, httpx.TimeoutException):
            error = GatewayUnknown(
                "TIMEOUT",
                "Toss did not answer in time; the request may have been applied.",
                timed_out=True,
                exchange=exchange,
            )
            return _Failed(error, Verdict.UNKNOWN, retryable=request.replayable)
        error = GatewayUnknown(
            "CONNECTION_DROPPED",
            f"The connection to Toss broke ({type(exc).__name__}); the request may have been applied.",
            exchange=exchange,
        )
        return _Failed(error, Verdict.UNKNOWN, retryable=request.replayable)

    def _circuit_open(self, request: TossRequest) -> GatewayUnknown:
        self._log(request, 1, self._clock(), None, "CIRCUIT_OPEN", Verdict.UNKNOWN)
        return GatewayUnknown(
            "CIRCUIT_OPEN",
            "Toss has been failing; calls are paused for a moment. Nothing was sent.",
            exchange=self._exchange(request, None, None, 0, Verdict.UNKNOWN),
        )

    def _headers(self, request: TossRequest) -> dict[str, str]:
        headers = {"Authorization": self._authorization, "Accept": "application/json"}
        if request.idempotency_key is not None:
            headers["Idempotency-Key"] = request.idempotency_key
        return headers

    def _timeout(self, request: TossRequest, attempt: int, started: float) -> httpx.Timeout:
        t = self._timeouts
        read = request.read_timeout if request.read_timeout is not None else t.read
        if attempt == 1:
            return httpx.Timeout(connect=t.connect, read=read, write=t.write, pool=t.pool)
        # A retry only gets what is left of the call's budget.
        left = max(self._retry.max_elapsed - (self._clock() - started), 0.001)
        return httpx.Timeout(
            connect=min(t.connect, left),
            read=min(read, left),
            write=min(t.write, left),
            pool=min(t.pool, left),
        )

    def _record(self, *, healthy: bool) -> None:
        if self._breaker is None:
            return
        if healthy:
            self._breaker.record_success()
        else:
            self._breaker.record_failure()

    def _exchange(
        self,
        request: TossRequest,
        status: int | None,
        data: Any,
        ms: int,
        verdict: Verdict | None,
        trace_id: str | None = None,
    ) -> GatewayExchange:
        return GatewayExchange(
            operation=request.operation.value,
            method=request.method,
            path=request.audit_path,
            request_data=redact(request.body) if request.body is not None else None,
            response_data=_response_data(data),
            status_code=status,
            processing_time_ms=ms,
            outcome=verdict.value if verdict is not None else "ok",
            trace_id=trace_id,
        )

    def _ms(self, since: float) -> int:
        return max(0, round((self._clock() - since) * 1000))

    def _log(
        self,
        request: TossRequest,
        attempt: int,
        sent_at: float,
        status: int | None,
        code: str | None,
        verdict: Verdict | None,
    ) -> None:
        level = {
            None: logging.INFO,
            Verdict.UNKNOWN: logging.WARNING,
            Verdict.MISCONFIGURED: logging.ERROR,
        }.get(verdict, logging.INFO)
        logger.log(
            level,
            "toss %s %s %s -> status=%s code=%s outcome=%s ms=%d attempt=%d",
            request.operation.value,
            request.method,
            request.audit_path,
            status if status is not None else "-",
            code or "-",
            verdict.value if verdict is not None else "ok",
            self._ms(sent_at),
            attempt,
        )


def _code_and_message(data: Any) -> tuple[str | None, str | None]:
    if not isinstance(data, dict):
        return None, None
    code, message = data.get("code"), data.get("message")
    return (
        code if isinstance(code, str) and code else None,
        message if isinstance(message, str) else None,
    )


def _raw(text: str) -> dict[str, Any]:
    return {"body": text[:_RAW_BODY_KEPT]}


def _response_data(data: Any) -> dict[str, Any] | None:
    if data is None:
        return None
    if isinstance(data, dict):
        kept: dict[str, Any] = redact(data)
        return kept
    return {"body": redact(data)}


def _timed_out(failed: _Failed) -> bool:
    return isinstance(failed.error, GatewayUnknown) and failed.error.timed_out


def _last(failed: _Failed, timed_out: bool) -> GatewayError:
    """The error a call ends with. Once an attempt went unanswered, the call as a whole did not
    answer in time, even if a retry then heard "still processing": Toss may be applying it."""
    error = failed.error
    if timed_out and isinstance(error, GatewayUnknown) and not error.timed_out:
        return GatewayUnknown(error.code, error.message, timed_out=True, exchange=error.exchange)
    return error
