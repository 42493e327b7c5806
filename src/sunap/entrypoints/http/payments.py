"""Payment routes: parse the body, build a command, run the use case, present the result."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from sunap.application.authentication import Principal
from sunap.application.cancel_payment import cancel_payment
from sunap.application.confirm_payment import confirm_payment
from sunap.application.create_payment import REQUEST_SUBJECT, create_payment
from sunap.application.ports.payments import PaymentQuery
from sunap.application.presenters import audit_entry_resource
from sunap.application.queries import get_payment, list_payments, payment_transactions
from sunap.domain.errors import InvalidRequest
from sunap.domain.payment import Payment, PaymentStatus

from .auth import requires
from .container import container_of
from .idempotency import idempotent_call, respond_idempotently
from .json_response import OrjsonResponse
from .openapi import documented
from .resources import AuditTrail, PaymentPage, PaymentResource
from .schemas import (
    MAX_CURSOR,
    MAX_CUSTOMER_KEY_FILTER,
    MAX_ORDER_ID_FILTER,
    CancelPaymentBody,
    ConfirmPaymentBody,
    CreatePaymentBody,
)
from .strict_input import StrictRoute

router = APIRouter(prefix="/v1/payments", tags=["payments"], route_class=StrictRoute)
Reader = Annotated[Principal, Depends(requires("payments:read"))]
Writer = Annotated[Principal, Depends(requires("payments:write"))]
Canceler = Annotated[Principal, Depends(requires("payments:cancel"))]


@router.post(
    "",
    summary="Create a payment for an order (READY)",
    **documented(
        scope="payments:write",
        success=201,
        model=PaymentResource,
        errors={409: ["DUPLICATE_ORDER_ID"]},
        idempotent=True,
        has_body=True,
    ),
)
async def create(request: Request, body: CreatePaymentBody, principal: Writer) -> Response:
    container = container_of(request)
    call = await idempotent_call(request, principal)

    async def run() -> Payment:
        account = await container.api_keys.account_of(principal.tenant_id)
        command = body.command(principal.tenant_id, account)
        request_key = call.request_key(REQUEST_SUBJECT)
        return await create_payment(replace(command, request_key=request_key), container.deps)

    return await respond_idempotently(request, principal, run, status=201, call=call)


@router.post(
    "/confirm",
    summary="Confirm a payment the widget came back with",
    **documented(
        scope="payments:write",
        model=PaymentResource,
        errors={
            400: ["INVALID_REQUEST", "AMOUNT_MISMATCH", "INVALID_PAYMENT_KEY"],
            402: ["PG_REJECTED"],
            404: ["PAYMENT_NOT_FOUND"],
            409: ["CONFIRM_IN_PROGRESS", "ALREADY_PROCESSED_PAYMENT", "NOT_CONFIRMABLE_STATUS"],
            502: ["PG_UNAVAILABLE", "PG_MISMATCH"],
            504: ["PG_TIMEOUT"],
        },
        idempotent=True,
        has_body=True,
    ),
)
async def confirm(request: Request, body: ConfirmPaymentBody, principal: Writer) -> Response:
    deps = container_of(request).deps

    async def run() -> Payment:
        return await confirm_payment(body.command(principal.tenant_id), deps)

    return await respond_idempotently(request, principal, run)


@router.get(
    "/{payment_id}",
    summary="One payment",
    **documented(scope="payments:read", model=PaymentResource, errors={404: ["PAYMENT_NOT_FOUND"]}),
)
async def get_one(request: Request, payment_id: str, principal: Reader) -> Response:
    container = container_of(request)
    payment = await get_payment(principal.tenant_id, payment_id, container.deps)
    return OrjsonResponse(await container.resource(payment))


@router.get(
    "",
    summary="Payments, newest first",
    **documented(scope="payments:read", model=PaymentPage),
)
async def list_all(
    request: Request,
    principal: Reader,
    orderId: Annotated[str | None, Query(max_length=MAX_ORDER_ID_FILTER)] = None,
    customerKey: Annotated[str | None, Query(max_length=MAX_CUSTOMER_KEY_FILTER)] = None,
    status: Annotated[
        str | None, Query(json_schema_extra={"enum": list(PaymentStatus.__members__)})
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR)] = None,
) -> Response:
    if status is not None and status not in PaymentStatus.__members__:
        raise InvalidRequest(f"status must be one of {', '.join(PaymentStatus.__members__)}.")
    query = PaymentQuery(
        order_id=orderId,
        customer_key=customerKey,
        status=PaymentStatus(status) if status else None,
        limit=limit,
        cursor=cursor,
    )
    container = container_of(request)
    page = await list_payments(principal.tenant_id, query, container.deps)
    items = [await container.resource(p) for p in page.items]
    return OrjsonResponse({"items": items, "nextCursor": page.next_cursor})


@router.post(
    "/{payment_id}/cancel",
    summary="Cancel all or part of a payment",
    **documented(
        scope="payments:cancel",
        model=PaymentResource,
        errors={
            400: ["INVALID_REQUEST", "REFUND_ACCOUNT_REQUIRED", "PARTIAL_CANCEL_NOT_ALLOWED"],
            402: ["PG_REJECTED"],
            404: ["PAYMENT_NOT_FOUND"],
            409: ["NOT_CANCELABLE_STATUS", "CONCURRENT_UPDATE"],
            422: ["EXCEEDS_BALANCE"],
            502: ["PG_UNAVAILABLE"],
            504: ["PG_TIMEOUT"],
        },
        idempotent=True,
        has_body=True,
    ),
)
async def cancel(
    request: Request, payment_id: str, body: CancelPaymentBody, principal: Canceler
) -> Response:
    deps = container_of(request).deps
    call = await idempotent_call(request, principal)
    command = replace(
        body.command(principal.tenant_id, payment_id), request_key=call.request_key(payment_id)
    )

    async def run() -> Payment:
        return await cancel_payment(command, deps)

    return await respond_idempotently(request, principal, run, call=call)


@router.get(
    "/{payment_id}/transactions",
    summary="The payment's audit trail, oldest first",
    **documented(scope="payments:read", model=AuditTrail, errors={404: ["PAYMENT_NOT_FOUND"]}),
)
async def transactions(request: Request, payment_id: str, principal: Reader) -> Response:
    entries = await payment_transactions(
        principal.tenant_id, payment_id, container_of(request).deps
    )
    return OrjsonResponse({"items": [audit_entry_resource(e) for e in entries]})
