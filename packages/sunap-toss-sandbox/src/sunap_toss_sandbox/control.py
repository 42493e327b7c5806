"""The control plane under /sandbox/: what Toss's window, console and network would do to us.

Calls that touch a merchant's books work on the account of an optional `Authorization: Basic`
header (same format as the API), else on the default books.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sunap_toss_sandbox import fields, identifiers
from sunap_toss_sandbox.accounts import AccountSpec, AccountSpecError
from sunap_toss_sandbox.catalogue import CATALOGUE, TossError
from sunap_toss_sandbox.clock import MAX_ADVANCE, toss_time
from sunap_toss_sandbox.faults import Fault, FaultSpecError
from sunap_toss_sandbox.merchant import Merchant
from sunap_toss_sandbox.pipeline import TRACE_HEADER, wants_english
from sunap_toss_sandbox.runtime import SandboxRuntime
from sunap_toss_sandbox.vocabulary import method_of

Handler = Callable[[SandboxRuntime, Request], Awaitable[Any]]


def books_of(runtime: SandboxRuntime, request: Request) -> Merchant:
    return runtime.accounts.select(request.headers.get("authorization")).merchant


def invalid_request(message: str) -> JSONResponse:
    """A control-plane request refused with its reason (the Toss catalogue's words say none)."""
    return JSONResponse({"code": "INVALID_REQUEST", "message": message}, 400)


async def register_account(runtime: SandboxRuntime, request: Request) -> Any:
    body = fields.body_object(await request.body())
    try:
        account = runtime.accounts.register(AccountSpec.from_json(body))
    except AccountSpecError as error:
        return JSONResponse({"code": error.code, "message": str(error)}, 400)
    return JSONResponse({"clientKey": account.client_key, "webhookUrl": account.webhook_url}, 201)


async def list_accounts(runtime: SandboxRuntime, request: Request) -> Any:
    return {"items": [account.to_json() for account in runtime.accounts.registered()]}


async def create_payment(runtime: SandboxRuntime, request: Request) -> Any:
    books = books_of(runtime, request)
    body = fields.body_object(await request.body())
    method = method_of(str(body.get("method") or "CARD"))
    if method is None:
        raise TossError("NOT_SUPPORTED_METHOD")
    fail_with = body.get("failWith")
    if fail_with is not None and fail_with not in CATALOGUE:
        raise TossError("INVALID_TEST_CODE")
    card_number = body.get("cardNumber")
    if card_number is not None:
        card_number = fields.digits(
            body, "cardNumber", lengths=range(8, 21), code="INVALID_CARD_NUMBER"
        )
    payment = books.open_window(
        order_id=fields.order_id(body),
        amount=fields.amount(body),
        order_name=fields.text(body, "orderName", max_length=100, required=False) or "테스트 주문",
        method=method,
        customer_key=fields.text(body, "customerKey", max_length=300, required=False),
        fail_with=fail_with,
        card_number=card_number,
    )
    return {
        "paymentKey": payment.payment_key,
        "orderId": payment.order_id,
        "amount": payment.total_amount,
    }


async def billing_auth(runtime: SandboxRuntime, request: Request) -> Any:
    books = books_of(runtime, request)
    body = fields.body_object(await request.body())
    customer_key = fields.customer_key(body)
    card_number = None
    if body.get("cardNumber") is not None:
        card_number = fields.digits(
            body, "cardNumber", lengths=range(8, 21), code="INVALID_CARD_NUMBER"
        )
    return {
        "authKey": books.issue_auth_key(customer_key, card_number),
        "customerKey": customer_key,
    }


async def deposit(runtime: SandboxRuntime, request: Request) -> Any:
    return books_of(runtime, request).deposit(request.path_params["paymentKey"]).to_json()


async def deposit_error(runtime: SandboxRuntime, request: Request) -> Any:
    return books_of(runtime, request).deposit_error(request.path_params["paymentKey"]).to_json()


async def trigger_webhook(runtime: SandboxRuntime, request: Request) -> Any:
    """`{eventType, paymentKey?, billingKey?, amount?}`: sends that webhook now."""
    body = fields.body_object(await request.body())
    event_type = body.get("eventType")
    payment_key = body.get("paymentKey")
    if not isinstance(event_type, str) or not isinstance(payment_key, str | None):
        raise TossError("INVALID_REQUEST")
    event = books_of(runtime, request).trigger(event_type, payment_key, body)
    return {"eventType": event_type, "body": event}


async def add_fault(runtime: SandboxRuntime, request: Request) -> Any:
    body = fields.body_object(await request.body())
    try:
        fault = Fault.from_json(body)
    except FaultSpecError as error:
        return invalid_request(str(error))
    runtime.faults.add(fault)
    return fault.to_json()


async def list_faults(runtime: SandboxRuntime, request: Request) -> Any:
    return {"items": runtime.faults.to_json()}


async def clear_faults(runtime: SandboxRuntime, request: Request) -> Any:
    runtime.clear_faults()
    return {"items": []}


async def list_calls(runtime: SandboxRuntime, request: Request) -> Any:
    return {"items": list(runtime.calls)}


async def list_webhooks(runtime: SandboxRuntime, request: Request) -> Any:
    return {"items": [delivery.to_json() for delivery in runtime.webhooks.deliveries]}


async def read_clock(runtime: SandboxRuntime, request: Request) -> Any:
    return {"now": toss_time(runtime.clock.now())}


async def advance_clock(runtime: SandboxRuntime, request: Request) -> Any:
    body = fields.body_object(await request.body())
    seconds = body.get("advanceSeconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return invalid_request("advanceSeconds must be a number of seconds")
    if isinstance(seconds, int):  # a whole number too large for a float is past the bound anyway
        seconds = float(min(seconds, MAX_ADVANCE.total_seconds() + 1))
    try:
        moved = runtime.advance_clock(seconds)
    except ValueError as refused:
        return invalid_request(str(refused))
    return {"now": toss_time(moved)}


async def reset(runtime: SandboxRuntime, request: Request) -> Any:
    runtime.reset()
    return {"reset": True}


def control_routes(runtime: SandboxRuntime) -> list[Route]:
    def endpoint(handler: Handler, *, pump: bool = True) -> Any:
        async def handle(request: Request) -> Response:
            runtime.ensure_started()
            if pump:  # what is due fires first; a reset forgets it instead, whatever the clock
                runtime.pump()
            result: Any
            try:
                result = await handler(runtime, request)
            except TossError as error:
                message = error.message(wants_english(request))
                result = JSONResponse({"code": error.code, "message": message}, error.status)
            response = result if isinstance(result, Response) else JSONResponse(result)
            response.headers.setdefault(TRACE_HEADER, identifiers.trace_id())
            return response

        return handle

    return [
        Route("/sandbox/accounts", endpoint(register_account), methods=["POST"]),
        Route("/sandbox/accounts", endpoint(list_accounts), methods=["GET"]),
        Route("/sandbox/payments", endpoint(create_payment), methods=["POST"]),
        Route("/sandbox/billing/auth", endpoint(billing_auth), methods=["POST"]),
        Route(
            "/sandbox/virtual-accounts/{paymentKey}/deposit",
            endpoint(deposit),
            methods=["POST"],
        ),
        Route(
            "/sandbox/virtual-accounts/{paymentKey}/deposit-error",
            endpoint(deposit_error),
            methods=["POST"],
        ),
        Route("/sandbox/webhooks/trigger", endpoint(trigger_webhook), methods=["POST"]),
        Route("/sandbox/faults", endpoint(add_fault), methods=["POST"]),
        Route("/sandbox/faults", endpoint(list_faults), methods=["GET"]),
        Route("/sandbox/faults", endpoint(clear_faults), methods=["DELETE"]),
        Route("/sandbox/calls", endpoint(list_calls), methods=["GET"]),
        Route("/sandbox/webhooks", endpoint(list_webhooks), methods=["GET"]),
        Route("/sandbox/clock", endpoint(read_clock), methods=["GET"]),
        Route("/sandbox/clock", endpoint(advance_clock), methods=["POST"]),
        Route("/sandbox/reset", endpoint(reset, pump=False), methods=["POST"]),
    ]
