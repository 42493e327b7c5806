"""Toss webhooks: store every delivery before answering, process it later.

The default account's webhooks arrive at `/v1/webhooks/toss`; a tenant's own account's at
`/v1/webhooks/toss/{tenant}`. The URL names the account: a delivery is only ever matched against
payments made on that account.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from sunap.application.pg_accounts import DEFAULT_PG_ACCOUNT
from sunap.application.webhook_intake import WebhookRejected, receive_toss_webhook
from sunap.entrypoints.metrics import metrics_of

from .container import container_of
from .errors import ApiError, error_body
from .json_response import OrjsonResponse
from .openapi import documented
from .resources import WebhookReceipt
from .strict_input import StrictRoute

WEBHOOKS = "/v1/webhooks/"
# A Toss payment object with its cancels fits many times over; anything bigger is refused while it
# is read (see BodyLimit), before a byte of it is trusted.
WEBHOOK_BODY_LIMIT = 256 * 1024

# Read raw (signatures are over the bytes), so FastAPI cannot describe it: Toss's two shapes
# (adapters/toss/webhooks.py). A type we do not handle is acknowledged.
WEBHOOK_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "anyOf": [
                    {
                        "type": "object",
                        "required": ["eventType"],
                        "properties": {
                            "eventType": {"type": "string", "minLength": 1},
                            "createdAt": {"type": "string"},
                            "data": {},
                        },
                    },
                    {
                        "type": "object",
                        "description": "DEPOSIT_CALLBACK, flat, checked by its secret.",
                        "required": ["secret", "status", "orderId"],
                        "properties": {
                            name: {"type": "string", "minLength": 1}
                            for name in ("secret", "status", "orderId", "transactionKey")
                        },
                    },
                ]
            },
            "example": {
                "eventType": "PAYMENT_STATUS_CHANGED",
                "createdAt": "2026-01-01T10:00:05.000000",
                "data": {"paymentKey": "tgen_20260101ab12cd34ef56", "status": "DONE"},
            },
        }
    },
}
router = APIRouter(tags=["webhooks"], route_class=StrictRoute)


@router.post(
    "/v1/webhooks/toss",
    summary="Toss webhooks of the default account (no API key)",
    **documented(
        scope=None,
        model=WebhookReceipt,
        errors={401: ["INVALID_SIGNATURE"]},
        request_body=WEBHOOK_BODY,
    ),
)
async def toss_webhook(request: Request) -> Response:
    """200 once the delivery is stored (or was stored before); 400 malformed, 401 forged. A
    failure to store it is a 5xx, so that Toss sends it again."""
    return await _receive(request, DEFAULT_PG_ACCOUNT)


@router.post(
    "/v1/webhooks/toss/{tenant}",
    summary="Toss webhooks of a tenant's own account (no API key)",
    **documented(
        scope=None,
        model=WebhookReceipt,
        errors={401: ["INVALID_SIGNATURE"], 404: ["NOT_FOUND"]},
        request_body=WEBHOOK_BODY,
    ),
)
async def tenant_toss_webhook(request: Request, tenant: str) -> Response:
    account_id = await container_of(request).pg_accounts.own_account_of(tenant)
    if account_id is None:
        raise ApiError(404, "NOT_FOUND", "No tenant with its own Toss account has this name.")
    return await _receive(request, account_id)


async def _receive(request: Request, account_id: str) -> Response:
    container = container_of(request)
    # An account holding another's keys raises SharedPgAccount: 503, and Toss retries later.
    account = await container.deps.accounts.account(account_id)
    body = await request.body()  # the raw bytes: signatures are over these, not re-serialised JSON
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        receipt = await receive_toss_webhook(
            body, headers, container.webhooks, container.deps, account
        )
    except WebhookRejected as rejected:  # malformed or forged: refused at the door
        result = "early" if rejected.early else "rejected"
        metrics_of(request.app).webhook_delivery(rejected.event_type or "", result)
        return OrjsonResponse(error_body(rejected.code, rejected.message), rejected.status)
    # A delivery to act on is counted once the processor settles it.
    if receipt.duplicate or receipt.ignored:
        result = "duplicate" if receipt.duplicate else "ignored"
        metrics_of(request.app).webhook_delivery(receipt.event_type, result)
    return OrjsonResponse(
        {"received": True, "duplicate": receipt.duplicate, "deliveryId": receipt.delivery_id}
    )
