"""One Toss call, done carefully: auth, timeouts, retries with the same Idempotency-Key, the
breaker, classification of the answer, a redacted exchange for an audit trail, Toss's trace id,
and one log line per HTTP attempt. The same steps drive the async and the sync client.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import httpx

from .breaker import CircuitBreaker
from .codes import (
    CONSECUTIVE_REQUEST,
    IN_PROCESS,
    Operation,
    Verdict,
    classify,
    is_retryable_answer,
    says_nothing_was_done,
)
from .errors import (
    Exchange,
    TossAlreadyProcessed,
    TossDeclined,
    TossError,
    TossMisconfigured,
    TossNotFound,
    TossUnknown,
)
from .redaction import redact, redact_text
from .retry import RetryPolicy

logger = logging.getLogger("sunap_toss")

MAX_IDEMPOTENCY_KEY_LENGTH = 300  # Toss answers INVALID_IDEMPOTENCY_KEY above this
TRACE_ID_HEADER = "X-TossPayments-Trace-Id"
_RAW_BODY_KEPT = 2000  # characters of a non-JSON body kept for the audit trail
# Parsed URLs kept for calls to come; a path naming a payment is kept too, so the cache is
# emptied when full rather than let grow.
_URLS_KEPT = 256

_ERRORS: dict[Verdict, type[TossError]] = {
    Verdict.DECLINED: TossDeclined,
    Verdict.ALREADY_PROCESSED: TossAlreadyProcessed,
    Verdict.NOT_FOUND: TossNotFound,
    Verdict.MISCONFIGURED: TossMisconfigured,
}
_LOG_LEVELS = {
    None: logging.INFO,
    Verdict.UNKNOWN: logging.WARNING,
    Verdict.MISCONFIGURED: logging.ERROR,
}


def basic_auth_header(secret_key: str) -> str:
    """`Basic base64("{secret_key}:")` — the colon says "no password" and Toss requires it."""
    token = base64.b64encode(f"{secret_key}:".encode()).decode("ascii")
    return f"Basic {token}"


def clean_secret_key(secret_key: str) -> str:
    # A key read from a file often brings a newline or a BOM; either breaks Basic auth.
    secret_key = secret_key.strip().lstrip("\ufeff")
    if not secret_key:
        raise ValueError("A Toss secret key is required.")
    return secret_key


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
    params: Mapping[str, str | int] | None = None

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
    exchange: Exchange

    @property
    def trace_id(self) -> str | None:
        return self.exchange.trace_id


@dataclass(frozen=True)
class _Failed:
    error: TossError
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


class _Steps:
    """Everything about a call except how it waits: shared by the async and the sync transport."""

    def __init__(
        self,
        *,
        secret_key: str,
        base_url: str,
        clock: Callable[[], float],
        retry_policy: RetryPolicy,
        breaker: CircuitBreaker | None,
        timeouts: TossTimeouts,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.clock = clock
        self.retry = retry_policy
        self.breaker = breaker
        self.timeouts = timeouts
        # Built once: a call only copies the headers and, on a first attempt, reuses a timeout.
        self._headers = {
            "Authorization": basic_auth_header(clean_secret_key(secret_key)),
            "Accept": "application/json",
        }
        self._first_timeouts: dict[float, httpx.Timeout] = {}
        self._urls: dict[str, httpx.URL] = {}

    def check(self, request: TossRequest) -> None:
        if request.idempotency_key is not None and not (
            0 < len(request.idempotency_key) <= MAX_IDEMPOTENCY_KEY_LENGTH
        ):
            raise TossMisconfigured(
                "INVALID_IDEMPOTENCY_KEY",
                f"An Idempotency-Key must be 1–{MAX_IDEMPOTENCY_KEY_LENGTH} characters.",
                exchange=self.exchange(request, None, None, 0, Verdict.MISCONFIGURED),
            )

    def allowed(self, request: TossRequest) -> bool:
        return self.breaker is None or self.breaker.allow(read_only=request.read_only)

    def url(self, request: TossRequest) -> httpx.URL:
        """Parsed once per path: httpx parses a URL given as text on every request, a third of
        the CPU of building one (a confirm's path is always the same)."""
        text = self.base_url + request.path
        url = self._urls.get(text)
        if url is None:
            if len(self._urls) >= _URLS_KEPT:
                self._urls.clear()
            url = self._urls[text] = httpx.URL(text)
        return url

    def headers(self, request: TossRequest) -> dict[str, str]:
        if request.idempotency_key is None:
            return self._headers
        return {**self._headers, "Idempotency-Key": request.idempotency_key}

    def timeout(self, request: TossRequest, attempt: int, started: float) -> httpx.Timeout:
        t = self.timeouts
        read = request.read_timeout if request.read_timeout is not None else t.read
        if attempt == 1:
            timeout = self._first_timeouts.get(read)
            if timeout is None:
                timeout = httpx.Timeout(connect=t.connect, read=read, write=t.write, pool=t.pool)
                self._first_timeouts[read] = timeout
            return timeout
        # A retry only gets what is left of the call's budget.
        left = max(self.retry.max_elapsed - (self.clock() - started), 0.001)
        return httpx.Timeout(
            connect=min(t.connect, left),
            read=min(read, left),
            write=min(t.write, left),
            pool=min(t.pool, left),
        )

    def sent_again_when_unknown(self, request: TossRequest) -> bool:
        """Whether `request`, perhaps applied by Toss (RetryPolicy.retry_unknown_writes), is
        sent again: a read always, a write only under a key Toss replays and if the policy
        says so."""
        return request.read_only or (request.replayable and self.retry.retry_unknown_writes)

    def next_delay(self, failed: _Failed, attempt: int, started: float) -> float | None:
        """The pause before the next attempt, or None when this failure ends the call."""
        if not failed.retryable or attempt >= self.retry.max_attempts:
            return None
        delay = self.retry.delay_before(attempt + 1)
        if failed.error.code == CONSECUTIVE_REQUEST:
            delay = max(delay, self.retry.consecutive_request_pause)
        elif failed.error.code == IN_PROCESS:
            delay = max(delay, self.retry.in_process_pause)
        if self.clock() + delay - started >= self.retry.max_elapsed:
            return None
        return delay

    def answered(
        self,
        request: TossRequest,
        response: httpx.Response,
        attempt: int,
        started: float,
        sent_at: float,
    ) -> TossAnswer | _Failed:
        self.record(healthy=response.status_code < 500)
        result = self._answer(request, response, started)
        trace_id = response.headers.get(TRACE_ID_HEADER)
        if isinstance(result, TossAnswer):
            self.log(request, attempt, sent_at, response.status_code, None, None, trace_id)
        else:
            code, verdict = result.error.code, result.verdict
            self.log(request, attempt, sent_at, response.status_code, code, verdict, trace_id)
        return result

    def unanswered(
        self,
        request: TossRequest,
        exc: httpx.RequestError,
        attempt: int,
        started: float,
        sent_at: float,
    ) -> _Failed:
        failed = self._transport_failure(request, exc, started)
        self.record(healthy=False)
        self.log(request, attempt, sent_at, None, failed.error.code, failed.verdict)
        return failed

    def abandoned(self) -> None:
        if self.breaker is not None:
            self.breaker.abandon()

    def _answer(
        self, request: TossRequest, response: httpx.Response, started: float
    ) -> TossAnswer | _Failed:
        status = response.status_code
        trace_id = response.headers.get(TRACE_ID_HEADER)
        text = response.text
        try:
            data = parse_json(text) if text.strip() else None
        except _NotJson:
            exchange = self.exchange(
                request, status, _raw(text), self.ms(started), Verdict.UNKNOWN, trace_id
            )
            return _Failed(
                TossUnknown(
                    "MALFORMED_RESPONSE" if status < 400 else f"HTTP_{status}",
                    f"Toss answered {status} with a body that is not JSON.",
                    exchange=exchange,
                ),
                Verdict.UNKNOWN,
                retryable=status >= 400
                and is_retryable_answer(status, None)
                and (says_nothing_was_done(status, None) or self.sent_again_when_unknown(request)),
            )
        if 200 <= status < 300:
            return TossAnswer(
                data, self.exchange(request, status, data, self.ms(started), None, trace_id)
            )
        code, message = _code_and_message(data)
        verdict = classify(request.operation, status, code)
        exchange = self.exchange(request, status, data, self.ms(started), verdict, trace_id)
        shown_code = code or f"HTTP_{status}"
        shown_message = redact_text(message or f"Toss answered {status}.")
        if verdict is Verdict.UNKNOWN:
            return _Failed(
                TossUnknown(shown_code, shown_message, exchange=exchange),
                verdict,
                # A 5xx or a provider's error may have been applied: sent again only if Toss
                # replays it and the policy wants it (or it is a read).
                retryable=is_retryable_answer(status, code)
                and (says_nothing_was_done(status, code) or self.sent_again_when_unknown(request)),
            )
        error = _ERRORS[verdict](shown_code, shown_message, exchange=exchange)
        return _Failed(error, verdict, retryable=False)

    def _transport_failure(
        self, request: TossRequest, exc: httpx.RequestError, started: float
    ) -> _Failed:
        exchange = self.exchange(request, None, None, self.ms(started), Verdict.UNKNOWN)
        if isinstance(exc, httpx.DecodingError):
            error = TossUnknown(
                "MALFORMED_RESPONSE", "Toss's answer could not be decoded.", exchange=exchange
            )
            return _Failed(error, Verdict.UNKNOWN, retryable=False)
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
            # Nothing left this process: always safe to try again.
            error = TossUnknown(
                "CONNECTION_FAILED",
                f"Could not reach Toss: {type(exc).__name__}.",
                exchange=exchange,
            )
            return _Failed(error, Verdict.UNKNOWN, retryable=True)
        if isinstance(exc, httpx.TimeoutException):
            error = TossUnknown(
                "TIMEOUT",
                "Toss did not answer in time; the request may have been applied.",
                timed_out=True,
                exchange=exchange,
            )
            return _Failed(error, Verdict.UNKNOWN, retryable=self.sent_again_when_unknown(request))
        error = TossUnknown(
            "CONNECTION_DROPPED",
            f"The connection to Toss broke ({type(exc).__name__}); the request may have been applied.",
            exchange=exchange,
        )
        return _Failed(error, Verdict.UNKNOWN, retryable=self.sent_again_when_unknown(request))

    def circuit_open(self, request: TossRequest) -> TossUnknown:
        self.log(request, 1, self.clock(), None, "CIRCUIT_OPEN", Verdict.UNKNOWN)
        return TossUnknown(
            "CIRCUIT_OPEN",
            "Toss has been failing; calls are paused for a moment. Nothing was sent.",
            exchange=self.exchange(request, None, None, 0, Verdict.UNKNOWN),
        )

    def record(self, *, healthy: bool) -> None:
        if self.breaker is None:
            return
        if healthy:
            self.breaker.record_success()
        else:
            self.breaker.record_failure()

    def exchange(
        self,
        request: TossRequest,
        status: int | None,
        data: Any,
        ms: int,
        verdict: Verdict | None,
        trace_id: str | None = None,
    ) -> Exchange:
        return Exchange(
            operation=request.operation.value,
            method=request.method,
            path=request.audit_path,
            request_data=redact(request.body) if request.body is not None else None,
            response_data=_response_data(data),
            status_code=status,
            processing_time_ms=ms,
            outcome=verdict.value if verdict is not None else "ok",
            trace_id=trace_id,
            idempotency_key=request.idempotency_key,
        )

    def ms(self, since: float) -> int:
        return max(0, round((self.clock() - since) * 1000))

    def log(
        self,
        request: TossRequest,
        attempt: int,
        sent_at: float,
        status: int | None,
        code: str | None,
        verdict: Verdict | None,
        trace_id: str | None = None,
    ) -> None:
        """One line per attempt; Toss's trace id, when it sent one, rides as the record's
        `toss_trace_id` (the id Toss's support asks for)."""
        level = _LOG_LEVELS.get(verdict, logging.INFO)
        if request.operation is Operation.CONFIRM and code == "INVALID_REQUEST":
            # Most often the caller's paymentKey, orderId and amount do not belong together
            # (anyone with a payments key can send that): the look-up that follows tells.
            level = logging.WARNING
        if not logger.isEnabledFor(level):
            return
        logger.log(
            level,
            "toss %s %s %s -> status=%s code=%s outcome=%s ms=%d attempt=%d",
            request.operation.value,
            request.method,
            request.audit_path,
            status if status is not None else "-",
            code or "-",
            verdict.value if verdict is not None else "ok",
            self.ms(sent_at),
            attempt,
            extra={"toss_trace_id": trace_id} if trace_id else None,
        )


class AsyncTransport:
    """Sends TossRequests over one pooled httpx.AsyncClient."""

    def __init__(self, client: httpx.AsyncClient, steps: _Steps) -> None:
        self._client = client
        self._steps = steps

    @property
    def breaker(self) -> CircuitBreaker | None:
        return self._steps.breaker

    @property
    def timeouts(self) -> TossTimeouts:
        return self._steps.timeouts

    def __repr__(self) -> str:
        return f"AsyncTransport(base_url={self._steps.base_url!r})"

    async def call(self, request: TossRequest) -> TossAnswer:
        """The answer to `request`, or the TossError that classifies why there is none.

        Every attempt carries the same Idempotency-Key, so Toss replays rather than repeats.
        """
        steps = self._steps
        steps.check(request)
        started = steps.clock()
        attempt = 1
        failed: _Failed | None = None
        timed_out = False
        earlier: list[Exchange] = []
        while True:
            if not steps.allowed(request):
                if failed is None:
                    raise steps.circuit_open(request)
                raise _last(failed, timed_out, earlier)  # the breaker opened while retrying
            sent_at = steps.clock()
            try:
                response = await self._client.request(
                    request.method,
                    steps.url(request),
                    json=request.body,
                    params=request.params,
                    headers=steps.headers(request),
                    timeout=steps.timeout(request, attempt, started),
                )
            except httpx.RequestError as exc:  # transport errors, and a body that cannot be decoded
                result: TossAnswer | _Failed = steps.unanswered(
                    request, exc, attempt, started, sent_at
                )
            except BaseException:
                steps.abandoned()
                raise
            else:
                result = steps.answered(request, response, attempt, started, sent_at)
            if isinstance(result, TossAnswer):
                return _answer_after(result, earlier)
            failed = result
            timed_out = timed_out or _timed_out(failed)
            delay = steps.next_delay(failed, attempt, started)
            if delay is None:
                raise _last(failed, timed_out, earlier)
            _keep(failed, earlier)
            await steps.retry.sleep(delay)
            attempt += 1


class SyncTransport:
    """Sends TossRequests over one pooled httpx.Client: the same steps, blocking."""

    def __init__(self, client: httpx.Client, steps: _Steps) -> None:
        self._client = client
        self._steps = steps

    @property
    def breaker(self) -> CircuitBreaker | None:
        return self._steps.breaker

    @property
    def timeouts(self) -> TossTimeouts:
        return self._steps.timeouts

    def __repr__(self) -> str:
        return f"SyncTransport(base_url={self._steps.base_url!r})"

    def call(self, request: TossRequest) -> TossAnswer:
        steps = self._steps
        steps.check(request)
        started = steps.clock()
        attempt = 1
        failed: _Failed | None = None
        timed_out = False
        earlier: list[Exchange] = []
        while True:
            if not steps.allowed(request):
                if failed is None:
                    raise steps.circuit_open(request)
                raise _last(failed, timed_out, earlier)
            sent_at = steps.clock()
            try:
                response = self._client.request(
                    request.method,
                    steps.url(request),
                    json=request.body,
                    params=request.params,
                    headers=steps.headers(request),
                    timeout=steps.timeout(request, attempt, started),
                )
            except httpx.RequestError as exc:
                result: TossAnswer | _Failed = steps.unanswered(
                    request, exc, attempt, started, sent_at
                )
            except BaseException:
                steps.abandoned()
                raise
            else:
                result = steps.answered(request, response, attempt, started, sent_at)
            if isinstance(result, TossAnswer):
                return _answer_after(result, earlier)
            failed = result
            timed_out = timed_out or _timed_out(failed)
            delay = steps.next_delay(failed, attempt, started)
            if delay is None:
                raise _last(failed, timed_out, earlier)
            _keep(failed, earlier)
            steps.retry.blocking_sleep(delay)
            attempt += 1


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
    return isinstance(failed.error, TossUnknown) and failed.error.timed_out


def _last(failed: _Failed, timed_out: bool, earlier: list[Exchange]) -> TossError:
    """The error a call ends with, its exchange carrying the attempts before it. Once an attempt
    went unanswered, the call as a whole did not answer in time, even if a retry then heard
    "still processing": Toss may be applying it."""
    error = failed.error
    exchange = _after_attempts(error.exchange, earlier)
    if timed_out and isinstance(error, TossUnknown) and not error.timed_out:
        return TossUnknown(error.code, error.message, timed_out=True, exchange=exchange)
    error.exchange = exchange
    return error


def _keep(failed: _Failed, earlier: list[Exchange]) -> None:
    """A failed attempt that will be retried, for the trail of the call's last one."""
    if failed.error.exchange is not None:
        earlier.append(failed.error.exchange)


def _after_attempts(exchange: Exchange | None, earlier: list[Exchange]) -> Exchange | None:
    if exchange is None or not earlier:
        return exchange
    return replace(exchange, earlier=tuple(earlier))


def _answer_after(answer: TossAnswer, earlier: list[Exchange]) -> TossAnswer:
    if not earlier:
        return answer
    return replace(answer, exchange=replace(answer.exchange, earlier=tuple(earlier)))
