"""The gRPC server `sunap serve` runs beside HTTP, on the same event loop (grpcio's asyncio
server): sunap.v1.PaymentService, grpc.health.v1.Health and server reflection, plus the slow look
that catches changes other processes commit, for WatchPayment streams."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from sunap.application.payment_changes import PaymentVersions, catch_up
from sunap.entrypoints.container import Container
from sunap.entrypoints.metrics import Metrics
from sunap.entrypoints.workers.loop import Worker, WorkerGroup

from .payments import SERVICE, PaymentService
from .requests import TRANSPORT_LIMIT, add_payment_service

log = logging.getLogger("sunap.grpc")

SERVING = health_pb2.HealthCheckResponse.SERVING
OPTIONS = [
    # Past the API's limit on a body (64 KiB) a message is refused with the API's code
    # (requests.py); past this one grpcio refuses it, unread, with a bare RESOURCE_EXHAUSTED.
    ("grpc.max_receive_message_length", TRANSPORT_LIMIT),
    # Ping idle connections so that a vanished client's WatchPayment streams end.
    ("grpc.keepalive_time_ms", 60_000),
    ("grpc.keepalive_timeout_ms", 20_000),
]
SHUTDOWN_GRACE_SECONDS = 5.0


class ListenError(Exception):
    """The gRPC port could not be bound."""


class GrpcServer:
    def __init__(
        self,
        container: Container,
        versions: PaymentVersions,
        metrics: Metrics,
        *,
        host: str,
        port: int,
        poll_seconds: float,
        interceptors: Sequence[Any] = (),
        share_port: bool = False,
    ) -> None:
        self._container = container
        self._versions = versions
        self._metrics = metrics
        self._address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self._poll_seconds = poll_seconds
        self._interceptors = list(interceptors)  # e.g. OpenTelemetry's, when traces are on
        # Another process on the port is an error, not a silent share of its calls (grpc's
        # default on Linux is SO_REUSEPORT, which lets two services take turns answering),
        # except between the processes of one `sunap serve --workers N`, whose parent made
        # sure before it started them that nothing else held the port.
        self._options = [*OPTIONS, ("grpc.so_reuseport", 1 if share_port else 0)]
        self._server: grpc.aio.Server | None = None
        self._health: health.aio.HealthServicer | None = None
        self._catch_up: WorkerGroup | None = None

    async def start(self) -> int:
        """Listen and serve; returns the port bound."""
        server = grpc.aio.server(options=self._options, interceptors=self._interceptors or None)
        add_payment_service(PaymentService(self._container), server)
        self._health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        names = (SERVICE, health.SERVICE_NAME, reflection.SERVICE_NAME)
        reflection.enable_server_reflection(names, server)
        try:
            port = server.add_insecure_port(self._address)
        except RuntimeError as refused:
            raise ListenError(f"gRPC cannot listen on {self._address}: {refused}") from refused
        await server.start()
        self._server = server
        await self._health.set(SERVICE, SERVING)
        self._catch_up = self._catch_up_worker()
        self._catch_up.start()
        return port

    async def stop(self) -> None:
        if self._health is not None:
            await self._health.enter_graceful_shutdown()
        if self._server is not None:
            await self._server.stop(SHUTDOWN_GRACE_SECONDS)
        if self._catch_up is not None:
            await self._catch_up.stop()

    def _catch_up_worker(self) -> WorkerGroup:
        changes, versions = self._container.changes, self._versions

        async def step() -> int:
            return await catch_up(changes, versions)

        return WorkerGroup(
            [Worker("watch-catch-up", step, self._poll_seconds)],
            self._metrics,
            is_outage=self._container.is_outage,
        )
