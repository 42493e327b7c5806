"""`POST /v1/webhooks/toss`: store every delivery before answering, process it later."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from sunap.application.webhook_intake import WebhookRejected, receive_toss_webhook

from .container import container_of
from .errors import error_body

router = APIRouter(tags=["webhooks"])


@router.post("/v1/webhooks/toss", summary="Toss webhooks (no API key)")
async def toss_webhook(request: Request) -> Response:
    container = container_of(request)
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        fresh = await receive_toss_webhook(
            body, headers, container.webhooks, container.deps, container.webhook_secrets
        )
    except WebhookRejected as rejected:
        return JSONResponse(error_body(rejected.code, rejected.message), rejected.status)
    return JSONResponse({"received": True, "duplicate": not fresh})
