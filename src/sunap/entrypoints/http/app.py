"""The FastAPI application: routes, error handlers, and what bootstrap hands in."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI
from starlette.types import ASGIApp

from sunap.entrypoints.container import Container
from sunap.entrypoints.metrics import Metrics

from . import operations, payments, webhooks
from .errors import install_error_handlers

DESCRIPTION = """Sunap's public API (shared/API.md): payments on Toss Payments, confirmed, canceled
and audited, with idempotent POSTs and per-tenant API keys."""


def create_app(
    container: Container,
    metrics: Metrics,
    *,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
    mounts: dict[str, ASGIApp] | None = None,
) -> FastAPI:
    app = FastAPI(
        title="Sunap",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.container = container
    app.state.metrics = metrics
    install_error_handlers(app)
    app.include_router(payments.router)
    app.include_router(webhooks.router)
    app.include_router(operations.router)
    for path, sub_app in (mounts or {}).items():
        app.mount(path, sub_app)
    return app
