"""One Toss API call from request to answer, in Toss's order: auth, rate limit, Test-Code,
Idempotency-Key, the one-second cancel rule, then the operation on the books of the key's account,
with injected faults around it. Every answer carries a trace id and is JSON.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from sunap_toss_sandbox import choices, fields, identifiers
from sunap_toss_sandbox.accounts import Account
from sunap_toss_sandbox.answers import Answer
from sunap_toss_sandbox.auth import secret_key_from
from sunap_toss_sandbox.catalogue import CATALOGUE, TossError, message_for
from sunap_toss_sandbox.clock import toss_time
from sunap_toss_sandbox.credentials import masked_path
from sunap_toss_sandbox.faults import Fault
from sunap_toss_sandbox.idempotency import IdempotencyStore, KeyScope
from sunap_toss_sandbox.merchant import Merchant
from sunap_toss_sandbox.runtime import SandboxRuntime

log = logging.getLogger(__name__)

TRACE_HEADER = "X-TossPayments-Trace-Id"


@dataclass(frozen=True)
class TossCall:
    method: str
    path: str
    path_params: Mapping[str, str]
    raw_body: bytes
    query: Mapping[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return fields.body_object(self.raw_body)


Operation = Callable[[Merchant, TossCall], Answer]


@dataclass(frozen=True)
class Api:
    """One Toss API: its route, what it does, and whether the one-second rule paces it."""

    method: str
    path: str  # the route template, e.g. /v1/payments/{paymentKey}/cancel
    operation: Operation
    paced_by: str | None = None  # the path parameter naming what is paced (paymentKey)


def route_path(request: Request) -> str:
    """The path inside the sandbox, also when it is mounted under a prefix."""
    path: str = request.scope["path"]
    root: str = request.scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def wants_english(request: Request) -> bool:
    return request.headers.get("accept-language", "").lower().startswith("en")


async def serve_toss_call(runtime: SandboxRuntime, request: Request, api: Api) -> Response:
    runtime.ensure_started()
    runtime.pump()  # expiries due by now happen before this call looks at anything
    path = route_path(request)
    logged_path = masked_path(api.path, path)  # never a billing key: see credentials
    received_at = runtime.clock.now()
    log_of_calls = runtime.calls  # a call received before a reset stays out of the new log
    account: Account | None = None  # none when the key is refused
    try:
        secret_key = secret_key_from(request.headers.get("authorization"))
        account = runtime.accounts.for_secret_key(secret_key)
        runtime.rate_limit.admit(secret_key, api.method, api.path)
        answer = await _answer(runtime, request, path, secret_key, account.merchant, api)
    except TossError as error:
        answer = Answer.refusal(error)
    except Exception:
        log.exception("sandbox failed on %s %s", request.method, logged_path)
        answer = Answer.error("FAILED_INTERNAL_SYSTEM_PROCESSING", 500)
    # In the order the calls came, not the order they were answered: a slow call (a delay
    # fault) stays where it arrived.
    bisect.insort(
        log_of_calls,
        {
            "method": request.method,
            "path": logged_path,
            "status": None if answer.dropped else answer.status,
            "idempotencyKey": request.headers.get("idempotency-key"),
            "at": toss_time(received_at),
            # To the microsecond, on the sandbox's clock: how far apart two calls came.
            "receivedAt": received_at.isoformat(),
            "account": account.name if account is not None else None,
        },
        key=_received_at,
    )
    return render(answer, english=wants_english(request))


def _received_at(call: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(call["receivedAt"])


async def _answer(
    runtime: SandboxRuntime,
    request: Request,
    path: str,
    secret_key: str,
    merchant: Merchant,
    api: Api,
) -> Answer:
    test_code = request.headers.get("tosspayments-test-code")
    if test_code is not None:  # only test keys get this far, which is when Toss honours it
        raise TossError(test_code if test_code in CATALOGUE else "INVALID_TEST_CODE")
    call = TossCall(
        request.method, path, request.path_params, await request.body(), request.query_params
    )
    key = request.headers.get("idempotency-key")
    if request.method != "POST" or key is None:  # other methods ignore the header
        _pace(runtime, api, call)
        return await _run_with_faults(runtime, merchant, call, api, None)
    IdempotencyStore.check_key(key)
    scope = (secret_key, request.method, path, key)
    replay = runtime.idempotency.begin(scope)
    if replay is not None:
        return replay
    try:
        try:
            _pace(runtime, api, call)
            return await _run_with_faults(runtime, merchant, call, api, scope)
        except TossError as refusal:  # the one-second rule: nothing else raises out of these
            refused = Answer.refusal(refusal)
            if choices.CONSECUTIVE_REFUSAL_IS_STORED:
                runtime.idempotency.finish(scope, refused)
            return refused
    finally:
        runtime.idempotency.abandon(scope)  # no-op once an answer was stored


def _paced(api: Api, call: TossCall) -> str | None:
    """What the one-second rule paces this call by (a paymentKey), if it paces it."""
    return call.path_params[api.paced_by] if api.paced_by is not None else None


def _pace(runtime: SandboxRuntime, api: Api, call: TossCall) -> None:
    if (paced := _paced(api, call)) is not None:
        runtime.consecutive_cancels.check(paced)


async def _run_with_faults(
    runtime: SandboxRuntime,
    merchant: Merchant,
    call: TossCall,
    api: Api,
    scope: KeyScope | None,
) -> Answer:
    store = runtime.idempotency
    fault: Fault | None = runtime.faults.take(call.method, call.path)
    if fault is not None and not fault.after_apply:
        await fault.wait()
        if fault.fails:
            injected = fault.answer()
            if scope is not None and choices.CACHE_FAULT_ANSWERS and not injected.dropped:
                store.finish(scope, injected)
            return injected
    # From here to the operation's end nothing awaits: another cancel of the payment processed
    # while this one waited on a delay is seen, and only a cancel carried out starts the window.
    _pace(runtime, api, call)
    try:
        answer = api.operation(merchant, call)
    except TossError as error:
        answer = Answer.refusal(error)
    refusal_counts = choices.REFUSED_CANCEL_STARTS_THE_WINDOW
    if (paced := _paced(api, call)) is not None and (answer.succeeded or refusal_counts):
        runtime.consecutive_cancels.processed(paced)
    if scope is not None and (answer.succeeded or choices.CACHE_ERROR_ANSWERS):
        store.finish(scope, answer)
    if fault is not None and fault.after_apply:
        await fault.wait()
        if fault.fails:
            return fault.answer()
    return answer


def render(answer: Answer, *, english: bool) -> Response:
    headers = {TRACE_HEADER: identifiers.trace_id()}
    if answer.dropped:
        return DroppedConnection(headers=headers)
    if answer.code is not None:
        message = (
            answer.wording.in_language(english)
            if answer.wording
            else message_for(answer.code, english)
        )
        body = {"code": answer.code, "message": message}
        return JSONResponse(body, status_code=answer.status, headers=headers)
    if answer.body is None:
        return Response(b"", answer.status, headers=headers, media_type="application/json")
    return JSONResponse(answer.body, status_code=answer.status, headers=headers)


# uvicorn logs an answer its app abandoned as an ERROR, in the task that ran the app; a
# dropConnection fault abandons one on purpose (and says so at INFO), so that line is left out
# for it alone. The flag lives in the context of that one request's task, never another's.
_UVICORN_LOG = logging.getLogger("uvicorn.error")
_UVICORN_INCOMPLETE = "ASGI callable returned without completing response."
_dropping_on_purpose: ContextVar[bool] = ContextVar("sandbox_dropping_on_purpose", default=False)


class _RequestedDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.msg == _UVICORN_INCOMPLETE and _dropping_on_purpose.get())


_REQUESTED_DROPS = _RequestedDrops()


class DroppedConnection(Response):
    """Starts an answer and abandons it: the server closes the connection mid-response, so the
    client sees a transport error (e.g. httpx.RemoteProtocolError), never an HTTP answer."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        _dropping_on_purpose.set(True)
        _UVICORN_LOG.addFilter(_REQUESTED_DROPS)  # once: a logger keeps one of each filter
        log.info("a dropConnection fault ends this answer mid-way, as asked")
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")],
            }
        )
        await send({"type": "http.response.body", "body": b"", "more_body": True})
