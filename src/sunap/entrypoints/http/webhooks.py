"""`POST /v1/webhooks/toss`: store every delivery before answering, process it later."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from sunap.application.webhook_intake import WebhookRejected, receive_toss_webhook

from .container import container_of
from .errors import error_body
from .strict_input import StrictRoute

WEBHOOKS = "/v1/webhooks/"
# A Toss payment object with its cancels fits many times over; anything bigger is refused while it
# is read (see BodyLimit), before a byte of it is trusted.
WEBHOOK_BODY_LIMIT = 256 * 1024

router = APIRouter(tags=["webhooks"], route_class=StrictRoute)


@router.post("/v1/webhooks/toss", summary="Toss webhooks (no API key)")
async def toss_webhook(request: Request) -> Response:
    """200 once the delivery is stored (or was stored before); 400 malformed, 401 forged. A
    failure to store it is a 5xx, so that Toss sends it again."""
    container = container_of(request)
    body = await request.body()  # the raw bytes: signatures are over these, not re-serialised JSON
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        receipt = await receive_toss_webhook(
            body, headers, container.webhooks, container.deps, container.webhook_secrets
        )
    except WebhookRejected as rejected:
        return JSONResponse(error_body(rejected.code, rejected.message), rejected.status)
    return JSONResponse(
        {"received": True, "duplicate": receipt.duplicate, "deliveryId": receipt.delivery_id}
    )
