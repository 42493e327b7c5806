"""OpenTelemetry traces: on only when OTEL_EXPORTER_OTLP_ENDPOINT is set.

Then the HTTP routes (FastAPI), the gRPC door, the SQL (SQLAlchemy) and the calls to Toss (httpx)
make spans, exported over OTLP/HTTP (the exporter reads the standard OTEL_* variables). A caller's
W3C `traceparent` is honoured, and the span a payment event is written under is named in the
event as the CloudEvents `traceparent` extension, so a consumer can continue the trace.

Unset, nothing of OpenTelemetry is imported: every import is inside `start_tracing`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # names for annotations only: nothing is imported at run time
    import httpx
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from sqlalchemy.ext.asyncio import AsyncEngine

ENDPOINT_VARIABLE = "OTEL_EXPORTER_OTLP_ENDPOINT"
SANDBOX_PATHS = "/toss-sandbox"  # a regex searched in each URL (OpenTelemetry's excluded_urls)
SERVICE_NAME = "sunap"


# A billing-key charge's or delete's URL holds Toss's billingKey, a credential; a span keeps the
# path's template instead, as the log does.
_BILLING_KEY_IN_PATH = re.compile(r"(/v1/billing/)(?!authorizations/)[^/?#]+")


async def _hide_billing_keys(span: Any, request: Any) -> None:
    """The httpx instrumentation's request hook: called once the span has its attributes."""
    attributes = getattr(span, "attributes", None) or {}
    for name, value in list(attributes.items()):
        if isinstance(value, str) and "/v1/billing/" in value:
            span.set_attribute(name, _BILLING_KEY_IN_PATH.sub(r"\1{billingKey}", value))


def tracing_wanted(environ: Mapping[str, str] = os.environ) -> bool:
    return bool(environ.get(ENDPOINT_VARIABLE, "").strip())


class Tracing:
    """One process's tracer provider and what it instruments."""

    def __init__(self, provider: TracerProvider) -> None:
        self._provider = provider

    def instrument_app(self, app: FastAPI) -> None:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        # The embedded sandbox stands in for Toss: its side of a call is not ours to trace (and
        # a billing-key charge's path holds the key).
        FastAPIInstrumentor.instrument_app(
            app, tracer_provider=self._provider, excluded_urls=SANDBOX_PATHS
        )

    def instrument_engine(self, engine: AsyncEngine) -> None:
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

        # Its declared range stops below SQLAlchemy 2.1, which it traces just as well.
        SQLAlchemyInstrumentor().instrument(
            engine=engine.sync_engine, tracer_provider=self._provider, skip_dep_check=True
        )

    def instrument_client(self, client: httpx.AsyncClient) -> None:
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor.instrument_client(
            client, tracer_provider=self._provider, request_hook=_hide_billing_keys
        )

    def grpc_interceptors(self) -> Sequence[Any]:
        from opentelemetry.instrumentation.grpc import aio_server_interceptor

        interceptor = aio_server_interceptor(tracer_provider=self._provider)  # type: ignore[no-untyped-call]
        return [interceptor]

    def current_traceparent(self) -> str | None:
        """The W3C traceparent of the span running now; None outside any span."""
        from opentelemetry.propagate import inject

        carrier: dict[str, str] = {}
        inject(carrier)
        return carrier.get("traceparent")

    def shutdown(self) -> None:
        """Export what is still buffered."""
        self._provider.shutdown()


def start_tracing(exporter: SpanExporter | None = None) -> Tracing:
    """A tracer provider exporting to `exporter`, or over OTLP/HTTP to the configured endpoint."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    else:  # a test's exporter: each span handed over as it ends
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    return Tracing(provider)
