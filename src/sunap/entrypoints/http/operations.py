"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from sunap.entrypoints.metrics import metrics_of

from .container import container_of
from .error_boundary import OUTAGE_RETRY_AFTER_SECONDS
from .errors import ApiError, error_body
from .json_response import OrjsonResponse
from .strict_input import StrictRoute

router = APIRouter(tags=["operations"], route_class=StrictRoute)


@router.get("/healthz", summary="The process is up")
async def healthz() -> Response:
    return OrjsonResponse({"status": "ok"})


@router.get("/readyz", summary="The database is reachable")
async def readyz(request: Request) -> Response:
    if await container_of(request).is_ready():
        return OrjsonResponse({"status": "ready"})
    return OrjsonResponse(
        error_body("SERVICE_UNAVAILABLE", "The database is unreachable."),
        status_code=503,
        headers={"Retry-After": str(OUTAGE_RETRY_AFTER_SECONDS)},
    )


@router.get("/metrics", summary="Prometheus metrics")
async def metrics(request: Request) -> Response:
    """Behind `Authorization: Bearer <SUNAP_METRICS_TOKEN>` when a token is set."""
    expected = container_of(request).metrics_token
    if expected is not None:
        scheme, _, offered = request.headers.get("authorization", "").partition(" ")
        # Compared in constant time, so the time taken says nothing of how much matched.
        matches = hmac.compare_digest(offered.strip().encode(), expected.encode())
        if scheme.lower() != "bearer" or not matches:
            raise ApiError(401, "UNAUTHORIZED", "Send 'Authorization: Bearer <metrics token>'.")
    registry = metrics_of(request.app).registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
