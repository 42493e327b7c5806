"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from sunap.entrypoints.container import Container
from sunap.entrypoints.metrics import metrics_of

from .container import container_of
from .error_boundary import NOT_MIGRATED, unavailable
from .errors import ApiError
from .json_response import OrjsonResponse
from .openapi import documented
from .resources import Status
from .strict_input import StrictRoute

NOT_MIGRATED_STATE = "not migrated"

router = APIRouter(tags=["operations"], route_class=StrictRoute)


@router.get(
    "/healthz", summary="The process is up", **documented(scope=None, model=Status, database=False)
)
async def healthz() -> Response:
    return OrjsonResponse({"status": "ok"})


@router.get(
    "/readyz",
    summary="The database is reachable and migrated (the broker's reachability is reported)",
    **documented(scope=None, model=Status),
)
async def readyz(request: Request) -> Response:
    container = container_of(request)
    checks = {"database": await database_state(container)}
    if container.broker_reachable is not None:
        checks["broker"] = "ok" if await container.broker_reachable() else "unreachable"
    # The broker is reported, not required: while it is down events wait in the outbox and
    # payments go on (sunap_outbox_oldest_unpublished_age_seconds shows the outage).
    if checks["database"] == "ok":
        return OrjsonResponse({"status": "ready", "checks": checks})
    not_migrated = checks["database"] == NOT_MIGRATED_STATE
    return unavailable(NOT_MIGRATED if not_migrated else "Unreachable: database.", checks=checks)


async def database_state(container: Container) -> str:
    """`ok`, `unreachable`, or `not migrated`: reachable, but not at the schema this release
    expects (a release started before `sunap migrate`), where every query would fail."""
    if not await container.is_ready():
        return "unreachable"
    if container.schema_is_current is not None and not await container.schema_is_current():
        return NOT_MIGRATED_STATE
    return "ok"


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    **documented(
        scope=None,
        errors={401: ["UNAUTHORIZED"]},
        media_type="text/plain; version=0.0.4",
        database=False,
    ),
)
async def metrics(request: Request) -> Response:
    """Behind `Authorization: Bearer <SUNAP_METRICS_TOKEN>` when a token is set."""
    if not metrics_allowed(request, container_of(request).metrics_token):
        raise ApiError(401, "UNAUTHORIZED", "Send 'Authorization: Bearer <metrics token>'.")
    measure_backlog = container_of(request).measure_backlog
    if measure_backlog is not None:
        await measure_backlog()
    return Response(metrics_of(request.app).exposition(), media_type=CONTENT_TYPE_LATEST)


def metrics_allowed(request: Request, expected: str | None) -> bool:
    """Whether the request may read the metrics: always with no token set, else with
    `Authorization: Bearer <token>` (compared in constant time: the time taken says nothing of
    how much matched)."""
    if expected is None:
        return True
    scheme, _, offered = request.headers.get("authorization", "").partition(" ")
    matches = hmac.compare_digest(offered.strip().encode(), expected.encode())
    return scheme.lower() == "bearer" and matches
