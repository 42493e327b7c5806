"""Payment routes: parse the body, build a command, run the use case, present the result."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from sunap.application.cancel_payment import cancel_payment
from sunap.application.commands import CancelPayment, ConfirmPayment, CreatePayment
from sunap.application.confirm_payment import confirm_payment
from sunap.application.create_payment import create_payment
from sunap.application.gateway import RefundAccount
from sunap.application.ports import PaymentQuery
from sunap.application.presenters import audit_entry_resource, payment_resource
from sunap.application.queries import get_payment, list_payments, payment_transactions
from sunap.domain.errors import DomainError, InvalidRequest
from sunap.domain.money import require_amount, require_currency, require_tax_free_amount
from sunap.domain.payment import Payment, PaymentMethod, PaymentStatus
from sunap.domain.return_urls import require_return_url

from .auth import Principal, requires
from .container import Container, container_of
from .errors import domain_error_response
from .idempotency import respond_idempotently
from .schemas import CancelPaymentBody, ConfirmPaymentBody, CreatePaymentBody
from .strict_input import StrictRoute

router = APIRouter(prefix="/v1/payments", tags=["payments"], route_class=StrictRoute)
Reader = Annotated[Principal, Depends(requires("payments:read"))]
Writer = Annotated[Principal, Depends(requires("payments:write"))]
Canceler = Annotated[Principal, Depends(requires("payments:cancel"))]


async def _resource(container: Container, payment: Payment) -> dict[str, Any]:
    resource = payment_resource(payment, checkout_url=container.checkout_url(payment))
    if resource["checkout"] is not None:
        account = await container.deps.accounts.account(payment.pg_account_id)
        resource["checkout"]["clientKey"] = account.client_key
    return resource


async def _present(request: Request, payment: Payment, status: int = 200) -> JSONResponse:
    return JSONResponse(await _resource(container_of(request), payment), status_code=status)


async def _answer(request: Request, run: Any, status: int = 200) -> Response:
    """Run a use case and turn its payment or its domain error into the answer to store."""
    try:
        payment = await run()
    except DomainError as error:
        return domain_error_response(error)
    return await _present(request, payment, status)


@router.post("", status_code=201, summary="Create a payment for an order (READY)")
async def create(request: Request, body: CreatePaymentBody, principal: Writer) -> Response:
    deps = container_of(request).deps

    async def run() -> Payment:
        command = CreatePayment(
            tenant_id=principal.tenant_id,
            pg_account_id=principal.pg_account_id,
            order_name=body.orderName,
            amount=require_amount(body.amount),
            currency=require_currency(body.currency),
            order_id=body.orderId,
            customer_key=body.customerKey,
            method=PaymentMethod(body.method) if body.method else None,
            success_url=require_return_url(body.successUrl, "successUrl"),
            fail_url=require_return_url(body.failUrl, "failUrl"),
            metadata=body.metadata,
        )
        return await create_payment(command, deps)

    return await respond_idempotently(request, principal, lambda: _answer(request, run, 201))


@router.post("/confirm", summary="Confirm a payment the widget came back with")
async def confirm(request: Request, body: ConfirmPaymentBody, principal: Writer) -> Response:
    deps = container_of(request).deps

    async def run() -> Payment:
        command = ConfirmPayment(
            tenant_id=principal.tenant_id,
            payment_key=body.paymentKey,
            order_id=body.orderId,
            amount=require_amount(body.amount),
        )
        return await confirm_payment(command, deps)

    return await respond_idempotently(request, principal, lambda: _answer(request, run))


@router.get("/{payment_id}", summary="One payment")
async def get_one(request: Request, payment_id: str, principal: Reader) -> Response:
    payment = await get_payment(principal.tenant_id, payment_id, container_of(request).deps)
    return await _present(request, payment)


@router.get("", summary="Payments, newest first")
async def list_all(
    request: Request,
    principal: Reader,
    orderId: Annotated[str | None, Query(max_length=64)] = None,
    customerKey: Annotated[str | None, Query(max_length=300)] = None,
    status: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
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
    items = [await _resource(container, p) for p in page.items]
    return JSONResponse({"items": items, "nextCursor": page.next_cursor})


@router.post("/{payment_id}/cancel", summary="Cancel all or part of a payment")
async def cancel(
    request: Request, payment_id: str, body: CancelPaymentBody, principal: Canceler
) -> Response:
    deps = container_of(request).deps

    async def run() -> Payment:
        account = body.refundReceiveAccount
        command = CancelPayment(
            tenant_id=principal.tenant_id,
            payment_id=payment_id,
            reason=body.cancelReason,
            amount=None
            if body.cancelAmount is None
            else require_amount(body.cancelAmount, "cancelAmount"),
            tax_free_amount=None
            if body.taxFreeAmount is None
            else require_tax_free_amount(body.taxFreeAmount),
            refund_account=None
            if account is None
            else RefundAccount(account.bank, account.accountNumber, account.holderName),
        )
        return await cancel_payment(command, deps)

    return await respond_idempotently(request, principal, lambda: _answer(request, run))


@router.get("/{payment_id}/transactions", summary="The payment's audit trail, oldest first")
async def transactions(request: Request, payment_id: str, principal: Reader) -> Response:
    entries = await payment_transactions(
        principal.tenant_id, payment_id, container_of(request).deps
    )
    return JSONResponse({"items": [audit_entry_resource(e) for e in entries]})
