"""The composition root: the only module that names concrete adapters and wires them together."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import logging
import os
import secrets
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sunap.adapters.brokers.factory import publisher_from_url, subscriber_from_url
from sunap.adapters.brokers.reachability import PublishProbe, broker_state
from sunap.adapters.crypto.fernet_box import secret_box_for
from sunap.adapters.sql.api_keys import SqlApiKeyStore
from sunap.adapters.sql.backlog import SqlBacklog
from sunap.adapters.sql.consumed_messages import SqlConsumedMessages
from sunap.adapters.sql.dashboard import SqlDashboardQueries
from sunap.adapters.sql.engine import async_url, create_engine, is_outage
from sunap.adapters.sql.idempotency import SqlIdempotencyStore
from sunap.adapters.sql.outbox import SqlOutboxStore
from sunap.adapters.sql.payment_versions import SqlPaymentVersions
from sunap.adapters.sql.pg_accounts import SqlPgAccountStore
from sunap.adapters.sql.schema import SchemaCheck
from sunap.adapters.sql.unit_of_work import sql_unit_of_work_factory
from sunap.adapters.sql.web_sessions import SqlWebSessionStore
from sunap.adapters.sql.webhook_inbox import SqlWebhookInbox
from sunap.adapters.system import RandomIds, SystemClock
from sunap.adapters.toss import CircuitBreaker, TossTimeouts
from sunap.adapters.toss.gateway import SUNAP_RETRIES, TossGateway, build_toss_gateway
from sunap.adapters.toss.webhooks import TossWebhooks
from sunap.application.billing_policy import BillingPolicy
from sunap.application.checkout_links import CheckoutLinks
from sunap.application.deps import Deps
from sunap.application.envelope import EnvelopeFactory
from sunap.application.errors import UnknownPgAccount
from sunap.application.observed_gateway import ObservedGateway
from sunap.application.payment_changes import PaymentChanges
from sunap.application.pg_accounts import (
    DEFAULT_PG_ACCOUNT,
    PgAccount,
    PgAccountDirectory,
    tenant_webhook_path,
)
from sunap.application.ports.gateway import PaymentGateway
from sunap.application.ports.messaging import EventPublisher
from sunap.application.ports.system import Clock
from sunap.application.schema_fit import SchemaFit
from sunap.application.secrets import SecretBox, SecretsUnavailable
from sunap.application.toss_windows import LOOK_AGAIN_AFTER
from sunap.config import ConfigurationError, Settings
from sunap.domain.payment import Payment, PaymentStatus
from sunap.domain.subscription import Dunning, FinalDunning
from sunap.entrypoints.container import Container
from sunap.entrypoints.grpc.server import GrpcServer
from sunap.entrypoints.http.app import create_app
from sunap.entrypoints.metrics import Metrics
from sunap.entrypoints.outage_log import OutageLog, first_line
from sunap.entrypoints.patient_check import PatientCheck
from sunap.entrypoints.rate_limit import Limiter, RateLimiter
from sunap.entrypoints.shared_rate_limit import SHARED_BUCKETS_ENV, SharedRateLimiter
from sunap.entrypoints.tracing import Tracing, start_tracing, tracing_wanted
from sunap.entrypoints.web.context import WebContext
from sunap.entrypoints.workers.expiry import expiry_worker
from sunap.entrypoints.workers.housekeeping import housekeeping_worker
from sunap.entrypoints.workers.loop import Worker, WorkerGroup
from sunap.entrypoints.workers.order_consumer import order_consumer_workers
from sunap.entrypoints.workers.reconciler import reconciler_worker
from sunap.entrypoints.workers.relay import OutboxRelay
from sunap.entrypoints.workers.scheduler import scheduler_worker
from sunap.entrypoints.workers.webhook_processor import webhook_worker
from sunap_toss_sandbox.accounts import AccountSpec, AccountSpecError
from sunap_toss_sandbox.app import create_sandbox_app

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

log = logging.getLogger("sunap")

SANDBOX_MOUNT = "/toss-sandbox"
# Toss refuses a second cancel of one payment within a second (docs/toss.md, 2.3 "Pacing"); the
# embedded sandbox, `sunap sandbox` and the tests' sandbox keep that rule, which Sunap's cancel
# turns (application/cancel_turns.py) and the client's same-key retry live with.
SANDBOX_CONSECUTIVE_CANCEL_WINDOW_SECONDS = 1.0
SANDBOX_CLIENT_KEY = "test_ck_sunap_sandbox"


# Names what the embedded sandbox's secret key is made from, so no other digest of the database's
# name can be it. A new version of this string is a new key: see sandbox_secret_key.
SANDBOX_KEY_CONTEXT = b"sunap embedded sandbox secret key v1\n"
_DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306}


def sandbox_secret_key(database_url: str) -> str:
    """The Toss test secret key Sunap's default account uses with the embedded sandbox: made from
    the database Sunap keeps its books in, so every process on that database (`sunap serve`,
    `worker`, `reconcile`, `billing run-due`) speaks to the sandbox as one merchant.

    Toss keeps an Idempotency-Key per secret key, and so does the sandbox. When each process
    made up a key of its own, a call whose answer one process lost and another sent again "under
    the same Idempotency-Key" was a new call to the sandbox: a second refund, or a renewal it had
    charged refused as new. The database is what those processes share by definition: its
    backend, server, port and name (an SQLite file by its absolute path), never its user or
    password. Not a secret (the sandbox lets any test key use its default books), and never
    logged, as no Toss key is."""
    url = async_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        name = url.database or ""
        place = name if name in ("", ":memory:") else str(Path(name).resolve())
    else:
        port = url.port or _DEFAULT_PORTS.get(backend)
        place = f"{(url.host or '').lower()}:{port}/{url.database or ''}"
    identity = f"{backend}://{place}".encode()
    digest = hashlib.sha256(SANDBOX_KEY_CONTEXT + identity).digest()
    return "test_sk_sunap_" + base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


def http_url(host: str, port: int) -> str:
    """`http://host:port`, an IPv6 address in brackets (`http://[::1]:8087`): unbracketed, its
    colons read as a port and the URL is no URL. A zone (`fe80::1%eth0`) is percent-encoded."""
    if ":" in host:
        host = "[" + host.replace("%", "%25") + "]"
    return f"http://{host}:{port}"


def loopback_url(host: str, port: int) -> str:
    """How this process reaches itself over HTTP. Listening on every address of a family, it is
    reached on that family's loopback (`::` on `::1`, which answers even where `::` takes no
    IPv4)."""
    every = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}  # noqa: S104
    return http_url(every.get(host, host), port)


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    deps: Deps
    metrics: Metrics
    container: Container
    publisher: EventPublisher
    http_client: httpx.AsyncClient
    workers: list[Worker]
    web: WebContext
    sandbox_app: Any | None = None
    mounts: dict[str, Any] = field(default_factory=dict)
    tracing: Tracing | None = None  # None: OTEL_EXPORTER_OTLP_ENDPOINT is not set
    # Checkout links are signed with a key of this process (no SUNAP_SECRETS_KEY, no Toss key):
    # the service that hands them out says so when it starts (build_app); a command does not.
    links_end_with_process: bool = False

    async def aclose(self) -> None:
        if self.sandbox_app is not None:
            await self.sandbox_app.state.sandbox.stop()
        await self.http_client.aclose()
        await self.publisher.close()
        await self.engine.dispose()
        if self.tracing is not None:
            self.tracing.shutdown()


def build_runtime(
    settings: Settings, *, self_url: str, span_exporter: SpanExporter | None = None
) -> Runtime:
    """Everything `sunap serve` and `sunap worker` run on, built from the settings alone.
    Traced when OTEL_EXPORTER_OTLP_ENDPOINT is set, or to `span_exporter` when one is given."""
    engine = create_engine(settings.database_url, server_pool_size=settings.database_pool_size)
    wanted = span_exporter is not None or tracing_wanted()
    tracing = start_tracing(span_exporter) if wanted else None
    if tracing is not None:
        tracing.instrument_engine(engine)
    clock, ids = SystemClock(), RandomIds()
    metrics = Metrics()
    # Every Toss client's breaker. The embedded sandbox closes them when its faults are cleared
    # or it is reset: the next check then starts with Toss back, not with a breaker that opened
    # on the last check's injected failures.
    breakers: weakref.WeakSet[CircuitBreaker] = weakref.WeakSet()

    def new_breaker() -> CircuitBreaker:
        breaker = CircuitBreaker()
        breakers.add(breaker)
        return breaker

    def close_breakers() -> None:
        for breaker in list(breakers):
            breaker.reset()

    if settings.sandbox_mode:
        secret_key = sandbox_secret_key(settings.database_url)
        base_url = self_url + SANDBOX_MOUNT
        sandbox_app = create_sandbox_app(
            webhook_url=self_url + "/v1/webhooks/toss",
            consecutive_cancel_window_seconds=SANDBOX_CONSECUTIVE_CANCEL_WINDOW_SECONDS,
            on_faults_cleared=close_breakers,
        )
        mounts = {SANDBOX_MOUNT: sandbox_app}
        client_key: str | None = SANDBOX_CLIENT_KEY
    else:
        assert settings.toss_secret_key is not None
        secret_key = settings.toss_secret_key.get_secret_value()
        base_url = settings.toss_api_base_url
        sandbox_app, mounts, client_key = None, {}, settings.toss_client_key
    timeouts = TossTimeouts(
        read=settings.toss_read_timeout, billing_read=settings.toss_billing_read_timeout
    )
    retries = dataclasses.replace(SUNAP_RETRIES, max_elapsed=settings.toss_read_timeout * 1.5)
    toss_gateway, http_client = build_toss_gateway(
        secret_key, base_url, timeouts=timeouts, retry_policy=retries, breaker=new_breaker()
    )
    default_gateway = ObservedGateway(toss_gateway, metrics.toss_call_ended)
    metrics.watch_circuit(default_gateway.accepts_new_operations)
    if tracing is not None:
        tracing.instrument_client(http_client)
    default_account = PgAccount(
        DEFAULT_PG_ACCOUNT, secret_key, client_key, tuple(settings.webhook_secrets)
    )

    def gateway_for(account: PgAccount) -> PaymentGateway:
        if account.id == DEFAULT_PG_ACCOUNT:
            return default_gateway
        own = TossGateway(
            http_client,
            secret_key=account.secret_key,
            base_url=base_url,
            timeouts=timeouts,
            retry_policy=retries,
            breaker=new_breaker(),
        )
        return ObservedGateway(own, metrics.toss_call_ended)

    pg_accounts = SqlPgAccountStore(engine)
    box = secret_box(settings)
    accounts = PgAccountDirectory(
        default_account,
        pg_accounts,
        box,
        gateway_for,
        admit=None
        if sandbox_app is None
        else _books_of_its_own(sandbox_app, pg_accounts, self_url),
    )
    billing = BillingPolicy(
        zone=ZoneInfo(settings.billing_timezone),
        dunning=Dunning(
            retry_days=tuple(settings.dunning_retry_days),
            final=FinalDunning(settings.dunning_final),
        ),
        box=box,
    )
    changes = PaymentChanges()

    def committed(saved: Sequence[Payment]) -> None:
        changes.committed(saved)
        metrics.payments_committed(saved)

    deps = Deps(
        uow=sql_unit_of_work_factory(
            engine,
            EnvelopeFactory(
                ids, clock, trace_context=tracing.current_traceparent if tracing else None
            ),
            on_commit=committed,
        ),
        accounts=accounts,
        clock=clock,
        ids=ids,
        webhook_format=TossWebhooks(),
        reconcile_delays=tuple(timedelta(seconds=s) for s in settings.reconcile_delay_seconds),
        toss_recheck=(
            LOOK_AGAIN_AFTER
            if settings.toss_recheck_seconds is None
            else timedelta(seconds=settings.toss_recheck_seconds)
        ),
        billing=billing,
        reads=sql_unit_of_work_factory(engine, EnvelopeFactory(ids, clock), read_only=True),
    )

    async def is_ready() -> bool:
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:  # any failure to reach the database means "not ready"
            return False
        return True

    schema = SchemaCheck(engine)

    async def schema_fit() -> SchemaFit | None:
        try:
            return await schema.fit()
        except Exception as error:  # cannot tell: the reachability check speaks for the database
            log.warning(
                "could not read the database's schema revision (%s)",
                first_line(error),
                exc_info=not is_outage(error),
            )
            return None

    webhooks = SqlWebhookInbox(engine)
    backlog = SqlBacklog(engine)
    readiness = settings.readiness_timeout_seconds
    public_url = (settings.public_url or self_url).rstrip("/")
    links, links_end_with_process = _checkout_links(box, settings)
    try:
        publisher = publisher_from_url(settings.broker_url, topic_prefix=settings.topic_prefix)
    except ValueError as unusable:  # a scheme or address the brokers' adapters cannot read
        raise ConfigurationError(f"SUNAP_BROKER_URL: {unusable}") from None
    container = Container(
        deps=deps,
        api_keys=SqlApiKeyStore(engine),
        idempotency=SqlIdempotencyStore(engine),
        webhooks=webhooks,
        pg_accounts=pg_accounts,
        # Bounded: a database that accepts connections and never answers holds a statement for
        # its whole timeout, and /readyz and /metrics must answer meanwhile (patient_check.py).
        is_ready=PatientCheck(is_ready, impatient=False, patience=readiness),
        schema_fit=PatientCheck(schema_fit, impatient=None, patience=readiness),
        readiness_seconds=readiness,
        checkout_url=_checkout_url(links, public_url, clock),
        changes=changes,
        rate_limiter=_rate_limiter(settings),
        metrics_token=settings.metrics_token.get_secret_value() if settings.metrics_token else None,
        is_outage=is_outage,
        broker_state=_broker_check(settings.broker_url, publisher, readiness),
        measure_backlog=PatientCheck(
            _backlog_gauges(backlog, clock, metrics, is_outage), impatient=None, patience=readiness
        ),
    )
    web = WebContext(
        deps=deps,
        api_keys=container.api_keys,
        sessions=SqlWebSessionStore(engine),
        queries=SqlDashboardQueries(engine),
        webhooks=webhooks,
        idempotency=container.idempotency,
        public_url=public_url,
        links=links,
        sandbox_path=SANDBOX_MOUNT if settings.sandbox_mode else None,
    )
    relay = OutboxRelay(
        SqlOutboxStore(engine), publisher, clock, metrics, topic_prefix=settings.topic_prefix
    )
    poll = settings.worker_poll_seconds
    workers = [
        reconciler_worker(deps, metrics, poll, _doubt_gauges(backlog, clock, metrics)),
        scheduler_worker(deps, metrics, poll),
        relay.worker(poll),
        webhook_worker(webhooks, deps, metrics, poll),
        housekeeping_worker(
            webhooks,
            clock,
            timedelta(days=settings.webhook_retention_days),
            settings.housekeeping_seconds,
        ),
        expiry_worker(deps, timedelta(seconds=settings.ready_ttl_seconds), poll),
        *order_consumer_workers(
            subscriber_from_url(settings.broker_url, topic_prefix=settings.topic_prefix),
            settings.topic_prefix,
            deps,
            SqlApiKeyStore(engine),
            SqlConsumedMessages(engine),
            metrics,
        ),
    ]
    return Runtime(
        settings=settings,
        engine=engine,
        deps=deps,
        metrics=metrics,
        container=container,
        publisher=publisher,
        http_client=http_client,
        workers=workers,
        web=web,
        sandbox_app=sandbox_app,
        mounts=mounts,
        tracing=tracing,
        links_end_with_process=links_end_with_process,
    )


def build_app(
    settings: Settings,
    *,
    self_url: str,
    grpc_address: tuple[str, int] | None = None,
    grpc_port_shared: bool = False,
    span_exporter: SpanExporter | None = None,
) -> FastAPI:
    """The HTTP app for `sunap serve`; in-process workers and, given an address, the gRPC
    server start and stop with it, on its event loop. The processes of `--workers N` share
    the gRPC port (`grpc_port_shared`) as they share the HTTP socket."""
    runtime = build_runtime(settings, self_url=self_url, span_exporter=span_exporter)
    if runtime.links_end_with_process:
        log.warning(
            "checkout links are signed with a key of this process and end with it: "
            "set SUNAP_SECRETS_KEY to keep them across restarts"
        )
    tracing = runtime.tracing
    grpc_server = None
    if grpc_address is not None:
        host, port = grpc_address
        grpc_server = GrpcServer(
            runtime.container,
            SqlPaymentVersions(runtime.engine),
            runtime.metrics,
            host=host,
            port=port,
            poll_seconds=settings.worker_poll_seconds,
            interceptors=tracing.grpc_interceptors() if tracing else (),
            share_port=grpc_port_shared,
        )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if runtime.sandbox_app is not None:
            await register_own_accounts(runtime)
        await runtime.publisher.start()
        group = WorkerGroup(
            runtime.workers if settings.run_workers else [],
            runtime.metrics,
            is_outage=runtime.container.is_outage,
        )
        group.start()
        try:
            if grpc_server is not None:
                await grpc_server.start()
            yield
        finally:
            if grpc_server is not None:
                await grpc_server.stop()
            await group.stop()
            await runtime.aclose()

    app = create_app(
        runtime.container,
        runtime.metrics,
        lifespan=lifespan,
        mounts=runtime.mounts,
        docs=settings.serves_docs,
        web=runtime.web,
    )
    if tracing is not None:
        tracing.instrument_app(app)
    return app


def _broker_check(
    url: str | None, publisher: object, within: float
) -> Callable[[], Awaitable[str]] | None:
    """Through the relay's own publisher (its connection, its credentials), answered within
    `within` seconds; None for the log publisher, which events go to when no broker is set:
    there is no broker to be ready for."""
    if url is None or not isinstance(publisher, PublishProbe):
        return None

    async def state() -> str:
        return await broker_state(url, publisher, within)

    return state


def _backlog_gauges(
    backlog: SqlBacklog, clock: Clock, metrics: Metrics, is_outage: Callable[[BaseException], bool]
) -> Callable[[], Awaitable[None]]:
    outage = OutageLog(
        log,
        "could not measure the outbox and review backlog: the database is unreachable, and "
        "their gauges keep their last values until it is back",
        "the outbox and review backlog are measured again",
    )

    async def measure() -> None:
        try:
            found = await backlog.measure(clock.now())
        except Exception as error:  # the gauges keep their last values
            if is_outage(error):
                outage.failed(error)
            else:
                log.warning("could not measure the outbox and review backlog", exc_info=True)
            return
        outage.worked()
        metrics.outbox_backlog(found.unpublished, found.oldest_unpublished_age_seconds)
        metrics.payments_needing_review.set(found.needing_review)
        metrics.backlog_measured_at.set(clock.now().timestamp())

    return measure


def _doubt_gauges(
    backlog: SqlBacklog, clock: Clock, metrics: Metrics
) -> Callable[[], Awaitable[None]]:
    async def measure() -> None:
        found = await backlog.doubt(clock.now())
        metrics.payments_in_doubt(
            found.outcome_unknown, found.cancels_pending, found.oldest_age_seconds
        )
        metrics.in_doubt_measured_at.set(clock.now().timestamp())

    return measure


def _books_of_its_own(
    sandbox_app: Any, store: SqlPgAccountStore, self_url: str
) -> Callable[[PgAccount], Awaitable[str | None]]:
    """Admits a tenant's own account once the embedded sandbox holds it as a merchant of its
    own. The sandbox lets an unregistered key share its default books, where the payments of
    every tenant on Sunap's default account are: a tenant's own key would reach them there
    (confirm another tenant's paymentKey as its own, then refund it), which Toss, keeping each
    merchant's books apart, never allows. So a refused registration (its client key is already
    another sandbox account's) leaves the account unusable. Asked each time the account is
    opened (at startup, and whenever an account given while running is first used); a
    registration made by hand first (with a webhook URL) is kept as it is, and the sandbox's
    reset keeps the accounts registered here.

    Each is registered with its tenant's webhook URL, as an operator registers it with Toss:
    the sandbox's own URL is the default account's, where a delivery is only ever matched
    against the default account's payments, so an own account's deposits and status changes
    sent there were never applied."""
    accounts = sandbox_app.state.sandbox.accounts

    async def admit(account: PgAccount) -> str | None:
        tenant = await store.tenant_of_account(account.id)
        webhook_url = None if tenant is None else self_url + tenant_webhook_path(tenant)
        spec = AccountSpec(
            secret_key=account.secret_key, client_key=account.client_key, webhook_url=webhook_url
        )
        try:
            accounts.ensure_registered(spec)
        except AccountSpecError as refused:
            return f"the embedded sandbox refused it ({refused})"
        return None

    return admit


async def register_own_accounts(runtime: Runtime) -> None:
    """Opens every tenant's own account once, at startup, so the embedded sandbox knows each
    (its payment window refuses a client key it does not know) before a customer comes."""
    try:
        own = await runtime.container.pg_accounts.own_accounts()
    except Exception as error:  # each account is registered when first used
        if runtime.container.is_outage(error):  # one line, as every other outage's
            log.warning(
                "tenants' own accounts were not registered with the sandbox: the database is "
                "unreachable (%s); each is registered when first used",
                first_line(error),
            )
        else:
            log.warning("tenants' own accounts were not registered with the sandbox", exc_info=True)
        return
    for sealed in own:
        try:
            await runtime.deps.accounts.account(sealed.id)
        except UnknownPgAccount:  # refused: the directory logged why, and its calls answer 503
            continue
        except Exception:  # unsealable, or the database went away: tried again when first used
            log.warning("PG account %s was not registered with the sandbox", sealed.id)


def _rate_limiter(settings: Settings) -> Limiter | None:
    """The processes of one `sunap serve --workers N` share the buckets of the file their
    parent made and named in the environment; any other process keeps its own."""
    limit = settings.rate_limit_bucket
    if limit is None:
        return None
    shared = os.environ.get(SHARED_BUCKETS_ENV)
    return SharedRateLimiter(Path(shared), *limit) if shared else RateLimiter(*limit)


def secret_box(settings: Settings) -> SecretBox:
    """The box credentials are sealed with: SUNAP_SECRETS_KEY, or the embedded default's key file."""
    setting = settings.secrets_key.get_secret_value() if settings.secrets_key else None
    try:
        return secret_box_for(setting, settings.database_url, production=settings.production)
    except ValueError as invalid:
        raise ConfigurationError(str(invalid)) from None


def _checkout_links(box: SecretBox, settings: Settings) -> tuple[CheckoutLinks, bool]:
    """Links are signed with a key derived from SUNAP_SECRETS_KEY (or the embedded default's key
    file). Without one, from TOSS_SECRET_KEY: every process of the service has it, so a link one
    worker signs opens on another, and it outlives restarts (a new Toss key ends the links
    signed before it, which expire within SUNAP_CHECKOUT_TTL_SECONDS anyway). With neither (the
    sandbox, which runs one process), from a key of this process: its links end with it, which
    the second value says."""
    ttl = timedelta(seconds=settings.checkout_ttl_seconds)
    try:
        return CheckoutLinks(box.derive_key("checkout-links"), ttl), False
    except SecretsUnavailable:
        pass
    if settings.toss_secret_key is not None:
        toss_key = settings.toss_secret_key.get_secret_value().encode()
        key = hmac.new(toss_key, b"sunap checkout-links v1", hashlib.sha256).digest()
        return CheckoutLinks(key, ttl), False
    return CheckoutLinks(secrets.token_bytes(32), ttl), True


def _checkout_url(links: CheckoutLinks, public_url: str, clock: Clock) -> Any:
    """A READY payment's hosted checkout link, freshly signed each time it is handed out."""

    def checkout_url(payment: Payment) -> str | None:
        if payment.status is not PaymentStatus.READY:
            return None
        token = links.token(payment, clock.now())
        return f"{public_url}/checkout/{quote(payment.id)}?token={quote(token)}"

    return checkout_url
