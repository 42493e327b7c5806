"""Traces of a confirm, through the whole app served over real HTTP (uvicorn on a loopback port,
the embedded sandbox reached over HTTP as Toss would be), exported to the OpenTelemetry SDK's
in-memory exporter: the caller's traceparent is honoured, the route, the SQL and the Toss call are
spans of one trace, and the event written for the approval names a span of it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import sqlalchemy as sa
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from sunap.adapters.sql.migrate import upgrade
from sunap.bootstrap import build_app
from sunap.config import Settings
from tests.support.sandbox_server import loopback_listener, serving
from tests.support.service import SUNAP
from tests.support.vault import toss_billing_keys

CALLER_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{CALLER_TRACE_ID}-{CALLER_SPAN_ID}-01"


@pytest.fixture()
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'sunap.db'}"
    for name in [n for n in os.environ if n.startswith(("SUNAP_", "TOSS_", "OTEL_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SUNAP_DATABASE_URL", url)
    upgrade(url)
    return url


def api_key(database_url: str, workdir: Path, scope: str = "payments:write") -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUNAP_", "TOSS_"))}
    args = [*SUNAP, "keys", "create", "--tenant", "traced", "--scope", scope]
    out = subprocess.run(
        args,
        env={**env, "SUNAP_DATABASE_URL": database_url},
        capture_output=True,
        check=True,
        cwd=workdir,
    )
    return out.stdout.decode().strip().splitlines()[-1]


@pytest.fixture()
def traced_service(database_url: str) -> Iterator[tuple[str, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    listener = loopback_listener()
    port = listener.getsockname()[1]
    settings = Settings(worker_poll_seconds=0.2)
    app = build_app(settings, self_url=f"http://127.0.0.1:{port}", span_exporter=exporter)
    with serving(app, listener) as base_url:
        yield base_url, exporter


def hex_trace(span: ReadableSpan) -> str:
    assert span.context is not None
    return f"{span.context.trace_id:032x}"


def hex_span(span: ReadableSpan) -> str:
    assert span.context is not None
    return f"{span.context.span_id:016x}"


def statement_of(span: ReadableSpan) -> str:
    attributes = span.attributes or {}
    return str(attributes.get("db.statement") or attributes.get("db.query.text") or "")


def url_of(span: ReadableSpan) -> str:
    attributes = span.attributes or {}
    return str(attributes.get("url.full") or attributes.get("http.url") or "")


def outbox_payloads(database_url: str, payment_id: str) -> list[dict[str, Any]]:
    engine = sa.create_engine(database_url.replace("+aiosqlite", ""))
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT payload FROM outbox WHERE aggregateid = :id ORDER BY seq"),
                {"id": payment_id},
            ).all()
    finally:
        engine.dispose()
    return [json.loads(row[0]) if isinstance(row[0], str) else row[0] for row in rows]


def test_a_confirm_is_one_trace_of_the_route_the_sql_and_the_toss_call_linked_to_its_event(
    traced_service: tuple[str, InMemorySpanExporter], database_url: str, tmp_path: Path
) -> None:
    base_url, exporter = traced_service
    key = api_key(database_url, tmp_path)
    auth = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base_url, timeout=60) as client:
        created = client.post(
            "/v1/payments",
            json={"orderId": "order-traced-1", "orderName": "traced", "amount": 5000},
            headers=auth,
        )
        assert created.status_code == 201, created.text
        payment = created.json()
        window = client.post(
            "/toss-sandbox/sandbox/payments", json={"orderId": "order-traced-1", "amount": 5000}
        )
        exporter.clear()
        confirmed = client.post(
            "/v1/payments/confirm",
            json={
                "paymentKey": window.json()["paymentKey"],
                "orderId": "order-traced-1",
                "amount": 5000,
            },
            headers={**auth, "traceparent": TRACEPARENT},
        )
        assert confirmed.status_code == 200, confirmed.text

    trace = [s for s in exporter.get_finished_spans() if hex_trace(s) == CALLER_TRACE_ID]
    route = [
        s
        for s in trace
        if s.kind is SpanKind.SERVER
        and (s.attributes or {}).get("http.route") == "/v1/payments/confirm"
    ]
    assert len(route) == 1, [s.name for s in trace]
    assert route[0].parent is not None and f"{route[0].parent.span_id:016x}" == CALLER_SPAN_ID
    statements = [statement_of(s) for s in trace if s.kind is SpanKind.CLIENT]
    # The claim and the approval are two writes of the payment, with no PG call inside either.
    writes = [q for q in statements if q.startswith("UPDATE payments")]
    assert len(writes) >= 2, statements
    assert any(q.startswith("INSERT INTO outbox") for q in statements), statements
    toss = [
        s
        for s in trace
        if s.kind is SpanKind.CLIENT and "/toss-sandbox/v1/payments/confirm" in url_of(s)
    ]
    assert len(toss) == 1, [
        (s.name, s.instrumentation_scope.name if s.instrumentation_scope else "", s.attributes)
        for s in exporter.get_finished_spans()
        if s.instrumentation_scope and "sqlalchemy" not in s.instrumentation_scope.name
    ]

    events = outbox_payloads(database_url, payment["id"])
    completed = [e for e in events if e["type"] == "payment.completed"]
    assert len(completed) == 1, [e["type"] for e in events]
    assert "traceparent" in completed[0], completed[0]
    version, trace_id, span_id, flags = completed[0]["traceparent"].split("-")
    assert (version, trace_id, flags) == ("00", CALLER_TRACE_ID, "01")
    assert span_id in {hex_span(s) for s in trace}


def test_a_billing_key_charge_is_traced_with_the_paths_template_never_the_key(
    traced_service: tuple[str, InMemorySpanExporter], database_url: str, tmp_path: Path
) -> None:
    """Toss's billingKey is a credential and part of a charge's URL: spans of the calls to Toss
    carry `/v1/billing/{billingKey}`, as the log does."""
    base_url, exporter = traced_service
    auth = {"Authorization": f"Bearer {api_key(database_url, tmp_path, 'billing')}"}
    with httpx.Client(base_url=base_url, timeout=60) as client:
        card = client.post(
            "/toss-sandbox/sandbox/billing/auth", json={"customerKey": "cust-traced-1"}
        ).json()
        issued = client.post(
            "/v1/billing-keys",
            json={"authKey": card["authKey"], "customerKey": "cust-traced-1"},
            headers=auth,
        )
        assert issued.status_code == 201, issued.text
        charged = client.post(
            f"/v1/billing-keys/{issued.json()['id']}/charges",
            json={"orderName": "traced", "amount": 3000},
            headers=auth,
        )
        assert charged.status_code == 200, charged.text
    # Opened from the vault with the embedded default's key file beside the database.
    toss_key = toss_billing_keys(database_url)[issued.json()["id"]]
    spans = exporter.get_finished_spans()
    charge = [s for s in spans if url_of(s).endswith("/v1/billing/{billingKey}")]
    assert len(charge) == 1, [url_of(s) for s in spans if url_of(s)]
    seen = " ".join(str(s.attributes) + s.name for s in spans)
    assert toss_key not in seen and quote(toss_key, safe="") not in seen


def test_without_an_otlp_endpoint_no_tracer_instrumentation_or_exporter_is_loaded(
    database_url: str,
) -> None:
    # FastAPI itself imports OpenTelemetry's API (its own no-op telemetry); what tracing would
    # add (the SDK's tracer, the instrumentations, the OTLP exporter) stays unloaded.
    program = """
import asyncio, sys
from sunap.bootstrap import build_app
from sunap.config import Settings
app = build_app(Settings(), self_url="http://127.0.0.1:1")
ours = ("opentelemetry.instrumentation", "opentelemetry.exporter", "opentelemetry.sdk.trace")
print(sorted(m for m in sys.modules if m.startswith(ours)))
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    ran = subprocess.run(
        [sys.executable, "-c", program], env=env, capture_output=True, text=True, check=True
    )
    assert ran.stdout.strip() == "[]", ran.stdout + ran.stderr


def test_a_global_tracer_provider_gets_no_request_spans_from_fastapis_own_layer(
    database_url: str,
) -> None:
    # A shop running Sunap under its own OpenTelemetry set-up (a global provider) must not get a
    # second span per request beside Sunap's: FastAPI's native telemetry stays off. In a process
    # of its own, since a global provider can be set once per process.
    program = """
import asyncio, httpx
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sunap.bootstrap import build_app
from sunap.config import Settings
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
app = build_app(Settings(run_workers=False), self_url="http://127.0.0.1:1")
async def main():
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sunap") as client:
        answer = await client.get("/v1/payments/pay_missing")
    print(answer.status_code, len(exporter.get_finished_spans()))
asyncio.run(main())
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    ran = subprocess.run(
        [sys.executable, "-c", program], env=env, capture_output=True, text=True, check=True
    )
    assert ran.stdout.split() == ["401", "0"], ran.stdout + ran.stderr
