"""One Settings object, read from the environment and validated once at start."""

from __future__ import annotations

import math
import re
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sunap.entrypoints.patient_check import READINESS_SECONDS

TOSS_API_HOST = "https://api.tosspayments.com"
# `100/s`, `600/m`, `3600/h`: requests per key per second, minute or hour.
RATE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*/\s*(s|m|h)\s*$")
SECONDS_PER = {"s": 1.0, "m": 60.0, "h": 3600.0}


# The backends sunap.adapters.sql.engine has a driver for (a unit test keeps the two alike).
DATABASE_BACKENDS = frozenset({"sqlite", "postgresql", "postgres", "mysql", "mariadb"})
# More connections than this per process would be a typo: PostgreSQL's default max_connections
# is 100 for every process together.
MAX_DATABASE_POOL_SIZE = 500
# The names both our log handler and uvicorn know.
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigurationError(Exception):
    """The service must not start with these settings. Its message names the setting and never
    quotes its value: whatever the setting, the rule holds, so no typo of it prints a secret."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    database_url: str = Field(
        "sqlite+aiosqlite:///./sunap.db", validation_alias="SUNAP_DATABASE_URL"
    )
    # Connections each process keeps on PostgreSQL or MariaDB, and the most it opens (engine.py's
    # POOL_SIZE by default): fewer behind PgBouncer or under a tight max_connections. Not SQLite.
    database_pool_size: int = Field(
        30, ge=1, le=MAX_DATABASE_POOL_SIZE, validation_alias="SUNAP_DATABASE_POOL_SIZE"
    )
    broker_url: str | None = Field(None, validation_alias="SUNAP_BROKER_URL")
    host: str = Field("127.0.0.1", validation_alias="SUNAP_HOST")
    # 1-65535: port 0 (any free port) would leave the banner, checkout links and the embedded
    # sandbox's address naming a port nobody listens on.
    port: int = Field(8087, ge=1, le=65535, validation_alias="SUNAP_PORT")
    # `sunap serve` also serves gRPC here, on the same host; 0 turns it off.
    grpc_port: int = Field(9087, ge=0, le=65535, validation_alias="SUNAP_GRPC_PORT")
    topic_prefix: str = Field("commerce.", validation_alias="SUNAP_TOPIC_PREFIX")
    production: bool = Field(False, validation_alias="SUNAP_PRODUCTION")
    run_workers: bool = Field(True, validation_alias="SUNAP_RUN_WORKERS")
    # Seconds before each reconcile attempt of an unknown PG outcome, comma-separated.
    reconcile_delays: str = Field(
        "5,10,20,40,120,600,3600,21600,86400", validation_alias="SUNAP_RECONCILE_DELAYS"
    )
    worker_poll_seconds: float = Field(1.0, gt=0, validation_alias="SUNAP_WORKER_POLL_SECONDS")
    # Seconds /readyz waits for the database (and the broker) and /metrics for its backlog
    # reading: past them /readyz answers 503, /metrics the gauges as last read. At most the
    # statement timeout (a minute), which is when a database that never answers fails anyway.
    readiness_timeout_seconds: float = Field(
        READINESS_SECONDS, gt=0, le=60, validation_alias="SUNAP_READINESS_TIMEOUT_SECONDS"
    )
    # `sunap worker` serves its /metrics here, on SUNAP_HOST; 0 (the default) serves none.
    worker_metrics_port: int = Field(
        0, ge=0, le=65535, validation_alias="SUNAP_WORKER_METRICS_PORT"
    )
    # Days a webhook delivery is kept before it is pruned, and how often pruning runs.
    webhook_retention_days: float = Field(
        90, gt=0, le=3650, validation_alias="SUNAP_WEBHOOK_RETENTION_DAYS"
    )
    housekeeping_seconds: float = Field(600, gt=0, validation_alias="SUNAP_HOUSEKEEPING_SECONDS")
    log_level: str = Field("INFO", validation_alias="SUNAP_LOG_LEVEL")
    # `json`: one JSON object per log line, for log shippers (docs/observability.md).
    log_format: Literal["text", "json"] = Field("text", validation_alias="SUNAP_LOG_FORMAT")
    # Per API key: a token bucket refilled at this rate, holding twice the count; `off` disables.
    rate_limit: str = Field("100/s", validation_alias="SUNAP_RATE_LIMIT")
    # A READY payment nobody paid within this long becomes EXPIRED.
    ready_ttl_seconds: float = Field(86400, gt=0, validation_alias="SUNAP_READY_TTL_SECONDS")
    # When Toss is asked again about an order it may still hold open for the customer (a READY
    # payment past its time to live; one canceled or expired unpaid). Unset: once Toss's own
    # 10-minute confirm window has surely closed (application/toss_windows.py).
    toss_recheck_seconds: float | None = Field(
        None, gt=0, validation_alias="SUNAP_TOSS_RECHECK_SECONDS"
    )
    # In production /docs and /openapi.json are served only when this is true.
    public_docs: bool = Field(False, validation_alias="SUNAP_PUBLIC_DOCS")
    # When set, /metrics asks for `Authorization: Bearer <token>`.
    metrics_token: SecretStr | None = Field(None, validation_alias="SUNAP_METRICS_TOKEN")
    # Where customers' browsers reach this service (checkout links); unset: its loopback URL.
    public_url: str | None = Field(None, validation_alias="SUNAP_PUBLIC_URL")
    # How long a hosted checkout link stays valid after it is handed out.
    checkout_ttl_seconds: int = Field(
        3600, ge=60, le=7 * 86400, validation_alias="SUNAP_CHECKOUT_TTL_SECONDS"
    )

    # Fernet key(s), comma-separated (the first seals): credentials Sunap keeps are sealed with it.
    secrets_key: SecretStr | None = Field(None, validation_alias="SUNAP_SECRETS_KEY")
    # Recurring billing: the calendar periods are counted on, and the dunning ladder (days after
    # the first refusal a renewal is retried; after the last, cancel or leave it unpaid).
    billing_timezone: str = Field("Asia/Seoul", validation_alias="SUNAP_BILLING_TIMEZONE")
    dunning_days: str = Field("1,3,5", validation_alias="SUNAP_DUNNING_DAYS")
    dunning_final: str = Field("cancel", validation_alias="SUNAP_DUNNING_FINAL")

    toss_secret_key: SecretStr | None = Field(None, validation_alias="TOSS_SECRET_KEY")
    toss_client_key: str | None = Field(None, validation_alias="TOSS_CLIENT_KEY")
    toss_api_base_url: str = Field(TOSS_API_HOST, validation_alias="TOSS_API_BASE_URL")
    # How long one answer from Toss is awaited; a call with its retries gets half as long again.
    toss_read_timeout: float = Field(30.0, gt=0, le=300, validation_alias="SUNAP_TOSS_READ_TIMEOUT")
    # A billing charge may take Toss up to 60 s (docs/toss.md); tests shorten it to meet a 504.
    toss_billing_read_timeout: float = Field(
        60.0, gt=0, le=300, validation_alias="SUNAP_TOSS_BILLING_READ_TIMEOUT"
    )
    # One secret, or two separated by a comma while rotating.
    toss_webhook_secret: SecretStr | None = Field(None, validation_alias="TOSS_WEBHOOK_SECRET")

    @property
    def sandbox_mode(self) -> bool:
        """No Toss key: the embedded sandbox stands in for Toss."""
        return self.toss_secret_key is None

    @property
    def webhook_secrets(self) -> list[str]:
        if self.toss_webhook_secret is None:
            return []
        raw = self.toss_webhook_secret.get_secret_value()
        return [s.strip() for s in raw.split(",") if s.strip()]

    @property
    def reconcile_delay_seconds(self) -> list[float]:
        try:
            delays = [float(s) for s in self.reconcile_delays.split(",") if s.strip()]
        except ValueError:
            delays = [math.nan]
        if not delays or not all(0 <= d < math.inf for d in delays):
            raise ConfigurationError(
                "SUNAP_RECONCILE_DELAYS must be one or more delays in seconds, comma-separated, "
                "such as 5,10,20."
            )
        return delays

    @property
    def rate_limit_bucket(self) -> tuple[float, float] | None:
        """(requests added back per second, bucket size) of SUNAP_RATE_LIMIT; None when `off`.
        The bucket holds twice the count: `100/s` allows 200 at once, `600/m` 1,200."""
        if self.rate_limit.strip().lower() == "off":
            return None
        found = RATE.match(self.rate_limit)
        if found is None:
            raise ConfigurationError(
                "SUNAP_RATE_LIMIT must look like 100/s, 600/m or 3600/h, or be off."
            )
        count = float(found.group(1))
        if 2 * count < 1:
            raise ConfigurationError("SUNAP_RATE_LIMIT must let at least one request through.")
        return count / SECONDS_PER[found.group(2)], 2 * count

    @property
    def dunning_retry_days(self) -> list[int]:
        try:
            days = [int(d) for d in self.dunning_days.split(",") if d.strip()]
        except ValueError:
            raise ConfigurationError(
                "SUNAP_DUNNING_DAYS must be whole days, comma-separated, such as 1,3,5."
            ) from None
        if any(d <= 0 for d in days) or days != sorted(set(days)):
            raise ConfigurationError("SUNAP_DUNNING_DAYS must be rising positive days, e.g. 1,3,5.")
        return days

    @property
    def serves_docs(self) -> bool:
        """The interactive docs and the OpenAPI schema: always in development, on request in
        production."""
        return self.public_docs or not self.production

    @model_validator(mode="after")
    def _refuse_unsafe_keys(self) -> Settings:
        key = self.toss_secret_key.get_secret_value() if self.toss_secret_key is not None else None
        if key is not None and not key.strip():
            raise ConfigurationError(
                "TOSS_SECRET_KEY is set but empty: give the key, or unset it to run on the "
                "embedded sandbox."
            )
        token = self.metrics_token
        if token is not None and not token.get_secret_value().strip():
            raise ConfigurationError(  # else /metrics would be open while it looks guarded
                "SUNAP_METRICS_TOKEN is set but empty: give a token, or unset it to leave "
                "/metrics open."
            )
        if key is not None and (problem := _toss_secret_key_problem(key)) is not None:
            raise ConfigurationError(f"TOSS_SECRET_KEY: {problem}")
        if key is not None and key.startswith("live_") and not self.production:
            raise ConfigurationError(
                "TOSS_SECRET_KEY is a live key: set SUNAP_PRODUCTION=true to take real money."
            )
        if key is not None and key.startswith("test_") and self.production:
            raise ConfigurationError("SUNAP_PRODUCTION=true needs a live_ TOSS_SECRET_KEY.")
        if key is None and self.production:
            raise ConfigurationError("SUNAP_PRODUCTION=true needs TOSS_SECRET_KEY.")
        if self.public_url is not None and not _is_base_url(self.public_url):
            raise ConfigurationError(
                "SUNAP_PUBLIC_URL must be an http(s) URL with a host and no query, "
                "such as https://pay.example.com"
            )
        if not _is_base_url(self.toss_api_base_url):  # else every confirm: PG_UNAVAILABLE
            raise ConfigurationError(
                "TOSS_API_BASE_URL must be an http(s) URL with a host and no query, "
                "such as https://api.tosspayments.com"
            )
        if not self.topic_prefix.strip(" ."):  # else topics with no prefix at all, or none on NATS
            raise ConfigurationError(
                "SUNAP_TOPIC_PREFIX is set but empty: give a prefix such as shop., or unset it "
                "for the default commerce."
            )
        broker = (self.broker_url or "").strip()  # blank, as unset: events go to the log
        if broker and (problem := _broker_url_problem(broker)) is not None:
            raise ConfigurationError(f"SUNAP_BROKER_URL must be {_BROKER_URLS} ({problem}).")
        if _database_backend(self.database_url) not in DATABASE_BACKENDS:
            raise ConfigurationError(
                "SUNAP_DATABASE_URL must be an sqlite://, postgresql:// or mysql:// (MariaDB) URL."
            )
        if self.log_level.upper() not in LOG_LEVELS:
            raise ConfigurationError(f"SUNAP_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}.")
        _ = self.reconcile_delay_seconds  # refuses a malformed SUNAP_RECONCILE_DELAYS at start
        _ = self.rate_limit_bucket  # refuses a malformed SUNAP_RATE_LIMIT at start
        _ = self.dunning_retry_days
        if self.dunning_final not in ("cancel", "unpaid"):
            raise ConfigurationError("SUNAP_DUNNING_FINAL must be cancel or unpaid.")
        if not _is_time_zone(self.billing_timezone):
            raise ConfigurationError(
                "SUNAP_BILLING_TIMEZONE must be an IANA time zone such as Asia/Seoul."
            )
        return self


def _database_backend(url: str) -> str | None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).get_backend_name()
    except ArgumentError:  # not a URL at all
        return None


def _toss_secret_key_problem(key: str) -> str | None:
    # Where `sunap tenants set-toss` checks a tenant's own key: one rule for both.
    from sunap.application.pg_accounts import secret_key_problem

    return secret_key_problem(key)


def _broker_url_problem(url: str) -> str | None:
    # The brokers' adapters read the URL: one rule, theirs.
    from sunap.adapters.brokers.factory import broker_url_problem

    return broker_url_problem(url)


_BROKER_URLS = (
    "kafka://host:port[,host:port], amqp(s)://user:pass@host:port/vhost, nats://host:port "
    "or redis(s)://host:port/db"
)


def _is_base_url(url: str) -> bool:
    parts = urlsplit(url)
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and not parts.query
        and not parts.fragment
    )


def _is_time_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
