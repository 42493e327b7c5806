"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
import hmac

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from sunap.application.schema_fit import SchemaFit
from sunap.entrypoints.container import Container
from sunap.entrypoints.metrics import metrics_of

from .container import container_of
from .error_boundary import SCHEMA_PROBLEMS, unavailable
from .errors import ApiError
from .json_response import OrjsonResponse
from .openapi import documented
from .resources import Status
from .strict_input import StrictRoute

# What /readyz says of a database at a schema this release cannot run on.
SCHEMA_STATES = {SchemaFit.BEHIND: "not migrated", SchemaFit.FOREIGN: "foreign schema"}

router = APIRouter(tags=["operations"], route_class=StrictRoute)


@router.get(
    "/healthz", summary="The process is up", **documented(scope=None, model=Status, database=False)
)
async def healthz() -> Response:
    return OrjsonResponse({"status": "ok"})


@router.get(
    "/readyz",
    summary="The database is reachable and migrated (whether events can be published is reported)",
    **documented(scope=None, model=Status),
)
async def readyz(request: Request) -> Response:
    container = container_of(request)
    # Side by side, each within the readiness timeout: /readyz answers by then.
    (database, fit), broker = await asyncio.gather(
        database_state(container), broker_state(container)
    )
    checks = {"database": database}
    if broker is not None:
        checks["broker"] = broker
    # The broker is reported, not required: while it is down events wait in the outbox and
    # payments go on (sunap_outbox_oldest_unpublished_age_seconds shows the outage).
    if checks["database"] == "ok":
        return OrjsonResponse({"status": "ready", "checks": checks})
    message = "Unreachable: database." if fit is None else SCHEMA_PROBLEMS[fit]
    return unavailable(message, checks=checks)


async def broker_state(container: Container) -> str | None:
    """Whether the relay can publish (`ok`, `failing`, `unreachable`); None without a broker."""
    return None if container.broker_state is None else await container.broker_state()


async def database_state(container: Container) -> tuple[str, SchemaFit | None]:
    """`ok`, `unreachable`, `not migrated` (reachable, but behind the schema this release
    expects: a release started before `sunap migrate`, where every query would fail) or
    `foreign schema` (at a revision that is not Sunap's, which `sunap migrate` refuses); with
    the schema's fit when that is what is wrong. `unreachable` too when the two checks together
    take longer than the readiness timeout (each is bounded by it alone)."""
    try:
        async with asyncio.timeout(container.readiness_seconds):
            if not await container.is_ready():
                return "unreachable", None
            fit = None if container.schema_fit is None else await container.schema_fit()
    except TimeoutError:  # the checks go on by themselves (patient_check.py)
        return "unreachable", None
    if fit is not None and not fit.usable:
        return SCHEMA_STATES[fit], fit
    return "ok", None


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
