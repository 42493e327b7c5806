"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from sunap.entrypoints.metrics import metrics_of

from .container import container_of

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> Response:
    return JSONResponse({"status": "ok"})


@router.get("/readyz", summary="The database is reachable")
async def readyz(request: Request) -> Response:
    if await container_of(request).is_ready():
        return JSONResponse({"status": "ready"})
    return JSONResponse(
        {"code": "NOT_READY", "message": "The database is not reachable."}, status_code=503
    )


@router.get("/metrics", summary="Prometheus metrics")
async def metrics(request: Request) -> Response:
    registry = metrics_of(request.app).registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
