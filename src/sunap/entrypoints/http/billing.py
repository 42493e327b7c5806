"""Billing-key and subscription routes (scope `billing`): parse, run the use case, present."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from sunap.application import billing_keys as keys
from sunap.application import subscriptions as subs
from sunap.application.authentication import Principal
from sunap.application.ports.billing import BillingQuery
from sunap.application.presenters import billing_key_resource, subscription_resource
from sunap.domain.billing_key import BillingKey, BillingKeyStatus
from sunap.domain.errors import InvalidRequest
from sunap.domain.payment import Payment
from sunap.domain.subscription import Subscription, SubscriptionStatus

from .auth import requires
from .billing_schemas import (
    CancelSubscriptionBody,
    ChangeSubscriptionBody,
    ChargeBillingKeyBody,
    CreateSubscriptionBody,
    IssueBillingKeyBody,
    NoFieldsBody,
)
from .container import container_of
from .idempotency import idempotent_call, respond_idempotently
from .json_response import OrjsonResponse
from .openapi import documented
from .resources import (
    BillingKeyPage,
    BillingKeyResource,
    PaymentPage,
    PaymentResource,
    SubscriptionPage,
    SubscriptionResource,
)
from .strict_input import StrictRoute

router = APIRouter(tags=["billing"], route_class=StrictRoute)
Biller = Annotated[Principal, Depends(requires("billing"))]
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=512)]
CustomerKey = Annotated[str | None, Query(max_length=300)]


async def _key(key: BillingKey) -> dict[str, Any]:
    return billing_key_resource(key)


async def _sub(sub: Subscription) -> dict[str, Any]:
    return subscription_resource(sub)


def _query(
    customer_key: str | None, status: str | None, allowed: list[str], limit: int, cursor: str | None
) -> BillingQuery:
    if status is not None and status not in allowed:
        raise InvalidRequest(f"status must be one of {', '.join(allowed)}.")
    return BillingQuery(customer_key=customer_key, status=status, limit=limit, cursor=cursor)


# -- billing keys ---------------------------------------------------------------------------


@router.post(
    "/v1/billing-keys",
    summary="Issue a billing key at the PG",
    **documented(
        scope="billing",
        success=201,
        model=BillingKeyResource,
        errors={
            402: ["PG_REJECTED"],
            502: ["PG_UNAVAILABLE"],
            504: ["PG_TIMEOUT"],
        },
        idempotent=True,
        has_body=True,
    ),
)
async def issue(request: Request, body: IssueBillingKeyBody, principal: Biller) -> Response:
    container = container_of(request)

    async def run() -> BillingKey:
        account = await container.api_keys.account_of(principal.tenant_id)
        command = body.command(principal.tenant_id, account)
        return await keys.issue_billing_key(command, container.deps)

    return await respond_idempotently(request, principal, run, status=201, present=_key)


@router.get(
    "/v1/billing-keys",
    summary="Billing keys, newest first",
    **documented(scope="billing", model=BillingKeyPage),
)
async def list_keys(
    request: Request,
    principal: Biller,
    customerKey: CustomerKey = None,
    status: str | None = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Response:
    query = _query(customerKey, status, list(BillingKeyStatus.__members__), limit, cursor)
    page = await keys.list_billing_keys(principal.tenant_id, query, container_of(request).deps)
    items = [billing_key_resource(k) for k in page.items]
    return OrjsonResponse({"items": items, "nextCursor": page.next_cursor})


@router.get(
    "/v1/billing-keys/{key_id}",
    summary="One billing key",
    **documented(
        scope="billing", model=BillingKeyResource, errors={404: ["BILLING_KEY_NOT_FOUND"]}
    ),
)
async def get_key(request: Request, key_id: str, principal: Biller) -> Response:
    key = await keys.get_billing_key(principal.tenant_id, key_id, container_of(request).deps)
    return OrjsonResponse(billing_key_resource(key))


@router.delete(
    "/v1/billing-keys/{key_id}",
    summary="Delete a billing key at the PG, then here",
    **documented(
        scope="billing",
        model=BillingKeyResource,
        errors={
            404: ["BILLING_KEY_NOT_FOUND"],
            502: ["PG_UNAVAILABLE"],
            504: ["PG_TIMEOUT"],
        },
    ),
)
async def delete_key(request: Request, key_id: str, principal: Biller) -> Response:
    key = await keys.delete_billing_key(principal.tenant_id, key_id, container_of(request).deps)
    return OrjsonResponse(billing_key_resource(key))


@router.post(
    "/v1/billing-keys/{key_id}/charges",
    summary="Charge a billing key now",
    **documented(
        scope="billing",
        model=PaymentResource,
        errors={
            402: ["PG_REJECTED"],
            502: ["PG_UNAVAILABLE"],
            504: ["PG_TIMEOUT"],
            404: ["BILLING_KEY_NOT_FOUND"],
            409: ["BILLING_KEY_NOT_ACTIVE"],
        },
        idempotent=True,
        has_body=True,
    ),
)
async def charge(
    request: Request, key_id: str, body: ChargeBillingKeyBody, principal: Biller
) -> Response:
    deps = container_of(request).deps
    call = await idempotent_call(request, principal)
    command = replace(
        body.command(principal.tenant_id, key_id), request_key=call.request_key(f"charge {key_id}")
    )

    async def run() -> Payment:
        return await keys.charge_billing_key(command, deps)

    return await respond_idempotently(request, principal, run, call=call)


# -- subscriptions --------------------------------------------------------------------------


@router.post(
    "/v1/subscriptions",
    summary="Start a subscription",
    **documented(
        scope="billing",
        success=201,
        model=SubscriptionResource,
        errors={
            402: ["PG_REJECTED"],
            502: ["PG_UNAVAILABLE"],
            504: ["PG_TIMEOUT"],
            404: ["BILLING_KEY_NOT_FOUND"],
            409: ["BILLING_KEY_NOT_ACTIVE"],
        },
        idempotent=True,
        has_body=True,
    ),
)
async def create(request: Request, body: CreateSubscriptionBody, principal: Biller) -> Response:
    deps = container_of(request).deps
    call = await idempotent_call(request, principal)
    command = replace(body.command(principal.tenant_id), request_key=call.request_key("subscribe"))

    async def run() -> Subscription:
        return await subs.create_subscription(command, deps)

    return await respond_idempotently(request, principal, run, status=201, present=_sub, call=call)


@router.get(
    "/v1/subscriptions",
    summary="Subscriptions, newest first",
    **documented(scope="billing", model=SubscriptionPage),
)
async def list_subs(
    request: Request,
    principal: Biller,
    customerKey: CustomerKey = None,
    status: str | None = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Response:
    query = _query(customerKey, status, list(SubscriptionStatus.__members__), limit, cursor)
    page = await subs.list_subscriptions(principal.tenant_id, query, container_of(request).deps)
    items = [subscription_resource(s) for s in page.items]
    return OrjsonResponse({"items": items, "nextCursor": page.next_cursor})


@router.get(
    "/v1/subscriptions/{sub_id}",
    summary="One subscription",
    **documented(
        scope="billing", model=SubscriptionResource, errors={404: ["SUBSCRIPTION_NOT_FOUND"]}
    ),
)
async def get_sub(request: Request, sub_id: str, principal: Biller) -> Response:
    sub = await subs.get_subscription(principal.tenant_id, sub_id, container_of(request).deps)
    return OrjsonResponse(subscription_resource(sub))


@router.get(
    "/v1/subscriptions/{sub_id}/payments",
    summary="A subscription's charges",
    **documented(scope="billing", model=PaymentPage, errors={404: ["SUBSCRIPTION_NOT_FOUND"]}),
)
async def sub_payments(
    request: Request, sub_id: str, principal: Biller, limit: Limit = 20, cursor: Cursor = None
) -> Response:
    container = container_of(request)
    items, next_cursor = await subs.subscription_payments(
        principal.tenant_id, sub_id, limit, cursor, container.deps
    )
    resources = [await container.resource(p) for p in items]
    return OrjsonResponse({"items": resources, "nextCursor": next_cursor})


@router.patch(
    "/v1/subscriptions/{sub_id}",
    summary="Change a subscription from its next charge",
    **documented(
        scope="billing",
        model=SubscriptionResource,
        errors={
            404: ["SUBSCRIPTION_NOT_FOUND", "BILLING_KEY_NOT_FOUND"],
            409: ["SUBSCRIPTION_NOT_CHANGEABLE", "BILLING_KEY_NOT_ACTIVE"],
        },
        has_body=True,
    ),
)
async def change(
    request: Request, sub_id: str, body: ChangeSubscriptionBody, principal: Biller
) -> Response:
    deps = container_of(request).deps
    sub = await subs.change_subscription(body.command(principal.tenant_id, sub_id), deps)
    return OrjsonResponse(subscription_resource(sub))


@router.post(
    "/v1/subscriptions/{sub_id}/cancel",
    summary="Cancel now or at period end",
    **documented(
        scope="billing",
        model=SubscriptionResource,
        errors={404: ["SUBSCRIPTION_NOT_FOUND"], 409: ["SUBSCRIPTION_NOT_CHANGEABLE"]},
        idempotent=True,
        has_body=True,
    ),
)
async def cancel(
    request: Request, sub_id: str, principal: Biller, body: CancelSubscriptionBody | None = None
) -> Response:
    deps = container_of(request).deps
    # Every field has a default, so no body at all means the defaults, as `{}` does.
    command = (body or CancelSubscriptionBody()).command(principal.tenant_id, sub_id)

    async def run() -> Subscription:
        return await subs.cancel_subscription(command, deps)

    return await respond_idempotently(request, principal, run, present=_sub)


@router.post(
    "/v1/subscriptions/{sub_id}/pause",
    summary="Pause: no charges",
    **documented(
        scope="billing",
        model=SubscriptionResource,
        errors={404: ["SUBSCRIPTION_NOT_FOUND"], 409: ["SUBSCRIPTION_NOT_CHANGEABLE"]},
        idempotent=True,
        has_body=True,
    ),
)
async def pause(
    request: Request, sub_id: str, principal: Biller, body: NoFieldsBody | None = None
) -> Response:
    deps = container_of(request).deps

    async def run() -> Subscription:
        return await subs.pause_subscription(principal.tenant_id, sub_id, deps)

    return await respond_idempotently(request, principal, run, present=_sub)


@router.post(
    "/v1/subscriptions/{sub_id}/resume",
    summary="Resume: a new period, charged at once; or undo a period-end cancel, charging nothing",
    **documented(
        scope="billing",
        model=SubscriptionResource,
        errors={
            404: ["SUBSCRIPTION_NOT_FOUND"],
            409: ["SUBSCRIPTION_NOT_CHANGEABLE", "BILLING_KEY_NOT_ACTIVE"],
        },
        idempotent=True,
        has_body=True,
    ),
)
async def resume(
    request: Request, sub_id: str, principal: Biller, body: NoFieldsBody | None = None
) -> Response:
    deps = container_of(request).deps

    async def run() -> Subscription:
        return await subs.resume_subscription(principal.tenant_id, sub_id, deps)

    return await respond_idempotently(request, principal, run, present=_sub)
