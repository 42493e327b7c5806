"""The FastAPI application: routes, error handlers, and what bootstrap hands in."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from fastapi import APIRouter, FastAPI
from fastapi.telemetry import TelemetryConfig
from starlette.types import ASGIApp

from sunap.entrypoints.container import Container
from sunap.entrypoints.metrics import Metrics
from sunap.entrypoints.web import checkout, dashboard, dashboard_session, dashboard_subscriptions
from sunap.entrypoints.web.assets import ASSETS_PATH, Assets, favicon
from sunap.entrypoints.web.context import WebContext
from sunap.entrypoints.web.error_pages import error_page

from . import billing, operations, payments, webhooks
from .body_limit import BodyLimit
from .error_boundary import ErrorBoundary
from .errors import install_error_handlers
from .openapi import install_openapi
from .request_observation import RequestObservation

DESCRIPTION = """Sunap's public API (docs/api.md): payments on Toss Payments, confirmed, canceled
and audited, with idempotent POSTs and per-tenant API keys. Every non-2xx answer is
`{"code", "message"}`; money is an integer in the currency's smallest unit (KRW: won)."""
# The most an API request body may hold (webhooks have their own limit).
API_BODY_LIMIT = 64 * 1024
# FastAPI's own OpenTelemetry layer stays off: Sunap's tracing (entrypoints/tracing.py) is the one
# source of request spans, and the layer, even idle, asks OpenTelemetry for its global providers
# (environment look-ups) on every request: a fifteenth of a GET's CPU.
NO_NATIVE_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def add_routes_of(app: FastAPI, router: APIRouter) -> None:
    """The router's routes on the app's own list, as `include_router` did before FastAPI 0.16x.

    `include_router` now keeps each router as one nested route: every request was matched twice
    through each router ahead of its own (the app's loop asks the router, which matches its
    routes, then matches them again to hand the request on), with scope bookkeeping at each step:
    a tenth of a GET's CPU. Our routers carry no prefix, dependencies or responses of their own
    to combine at inclusion (a prefix is already in each route's path), so their routes are the
    same routes on the app's list, matched in the same order, in the same OpenAPI document
    (`test_the_routes_are_the_apps_own`).
    """
    if router.dependencies or router.responses or router.callbacks:
        raise ValueError("a router with dependencies, responses or callbacks needs include_router")
    app.router.routes.extend(router.routes)


def create_app(
    container: Container,
    metrics: Metrics,
    *,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
    mounts: dict[str, ASGIApp] | None = None,
    docs: bool = True,
    web: WebContext | None = None,
) -> FastAPI:
    """`docs=False` serves neither /docs nor /openapi.json (production, unless asked for)."""
    app = FastAPI(
        title="Sunap",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        openapi_url="/openapi.json" if docs else None,
        redoc_url=None,
        telemetry=NO_NATIVE_TELEMETRY,
        # `/v1/payments/` is not a route: 404 with the API's JSON body, not an empty 307.
        redirect_slashes=False,
    )
    app.state.container = container
    app.state.metrics = metrics
    install_error_handlers(app, error_page=error_page if web is not None else None)
    install_openapi(app)
    limits = {webhooks.WEBHOOKS: webhooks.WEBHOOK_BODY_LIMIT}
    app.add_middleware(BodyLimit, limit=API_BODY_LIMIT, by_prefix=limits)
    app.add_middleware(
        ErrorBoundary,
        is_outage=container.is_outage,
        schema_fit=container.schema_fit,
    )
    app.add_middleware(RequestObservation, metrics=metrics)  # outermost: ids and counts all
    for router in (payments.router, billing.router, webhooks.router, operations.router):
        add_routes_of(app, router)
    if web is not None:  # the hosted checkout and the dashboard
        app.state.web = web
        for router in (
            checkout.router,
            dashboard_session.router,
            dashboard.router,
            dashboard_subscriptions.router,
        ):
            add_routes_of(app, router)
        app.mount(ASSETS_PATH, Assets())
        app.add_route("/favicon.ico", favicon, include_in_schema=False)
    for path, sub_app in (mounts or {}).items():
        app.mount(path, sub_app)
    return app
