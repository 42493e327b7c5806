"""`/metrics` of a `sunap worker` process, on SUNAP_WORKER_METRICS_PORT.

A worker counts what only it sees (relay errors, reconcile outcomes, webhook deliveries, its
own crashes) in its own registry: with the API in another process, those series exist nowhere
else, and the alerts on them could never fire. Same token as the API's `/metrics`; nothing but
`/metrics` is served."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sunap.entrypoints.container import Container
from sunap.entrypoints.http.operations import metrics_allowed
from sunap.entrypoints.metrics import Metrics


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Leaves SIGINT and SIGTERM to the worker's own handlers, which stop it cleanly."""
        yield


def metrics_app(container: Container, metrics: Metrics) -> Starlette:
    async def scrape(request: Request) -> Response:
        if not metrics_allowed(request, container.metrics_token):
            body = {"code": "UNAUTHORIZED", "message": "Send 'Authorization: Bearer <token>'."}
            return JSONResponse(body, status_code=401)
        if container.measure_backlog is not None:
            await container.measure_backlog()
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return Starlette(routes=[Route("/metrics", scrape, methods=["GET"])])


@contextlib.asynccontextmanager
async def serving_metrics(
    container: Container, metrics: Metrics, host: str, port: int
) -> AsyncIterator[None]:
    """Serve `/metrics` on host:port while the block runs (port 0: not at all)."""
    if not port:
        yield
        return
    config = uvicorn.Config(
        metrics_app(container, metrics),
        host=host,
        port=port,
        lifespan="off",
        log_config=None,
        access_log=False,
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve())
    try:
        yield
    finally:
        server.should_exit = True
        await task
