"""A setting Sunap refuses stops it with a message that names the setting and never quotes its
value (docs/operations.md), whichever setting it is: what `sunap` prints is built here."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sunap.adapters.sql.engine import _ASYNC_DRIVERS, POOL_SIZE
from sunap.cli import configuration_refused
from sunap.config import (
    DATABASE_BACKENDS,
    MAX_DATABASE_POOL_SIZE,
    ConfigurationError,
    Settings,
)


def refusal(**env: str) -> str:
    with pytest.raises((ConfigurationError, ValidationError)) as refused:
        Settings.model_validate(env)
    message = configuration_refused(refused.value)
    assert message is not None
    return message


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("SUNAP_DATABASE_URL", "ftp://user:pw-never-shown@host/x"),
        ("SUNAP_DATABASE_URL", "pw-never-shown"),
        ("SUNAP_LOG_LEVEL", "LOUD-never-shown"),
        ("SUNAP_RECONCILE_DELAYS", "abc-never-shown"),
        ("SUNAP_RECONCILE_DELAYS", "5,-1"),
        ("SUNAP_RECONCILE_DELAYS", "5,nan"),
        ("SUNAP_RECONCILE_DELAYS", " , "),
        ("SUNAP_RATE_LIMIT", "lots-never-shown"),
        ("SUNAP_BILLING_TIMEZONE", "Mars/never-shown"),
        ("SUNAP_PORT", "99999"),
        ("SUNAP_PORT", "0"),
        ("SUNAP_GRPC_PORT", "70000"),
        ("SUNAP_WORKER_POLL_SECONDS", "-1"),
        ("SUNAP_WORKER_POLL_SECONDS", "0"),
        ("SUNAP_READINESS_TIMEOUT_SECONDS", "0"),
        ("SUNAP_READINESS_TIMEOUT_SECONDS", "-1"),
        ("SUNAP_READINESS_TIMEOUT_SECONDS", "61"),
        ("SUNAP_READINESS_TIMEOUT_SECONDS", "soon-never-shown"),
        ("SUNAP_DATABASE_POOL_SIZE", "0"),
        ("SUNAP_DATABASE_POOL_SIZE", "501"),
        ("SUNAP_DATABASE_POOL_SIZE", "2.5"),
        ("SUNAP_DATABASE_POOL_SIZE", "ten-never-shown"),
        ("TOSS_API_BASE_URL", "notaurl-never-shown"),
        ("TOSS_API_BASE_URL", "ftp://never-shown.example"),
        ("TOSS_API_BASE_URL", "https://never-shown.example/v1?key=x"),
        ("SUNAP_BROKER_URL", "mqtt://sunap:pw-never-shown@127.0.0.1:1883"),
        ("SUNAP_BROKER_URL", "not a url never-shown"),
        ("SUNAP_BROKER_URL", "amqp://guest:pw-never-shown@/vhost"),
        ("SUNAP_BROKER_URL", "nats://never-shown:70000"),
        ("SUNAP_BROKER_URL", "redis://never-shown:port/0"),
        ("SUNAP_BROKER_URL", "kafka://never-shown:9092,,"),
        ("SUNAP_BROKER_URL", "kafka://never-shown:x9092"),
        ("TOSS_SECRET_KEY", "garbage-never-shown"),
        ("TOSS_SECRET_KEY", "test_sk_with a-space-never-shown"),
        ("SUNAP_TOPIC_PREFIX", ""),
        ("SUNAP_TOPIC_PREFIX", "  "),
        ("SUNAP_TOPIC_PREFIX", "."),
    ],
)
def test_a_refused_setting_is_named_and_its_value_never_shown(setting: str, value: str) -> None:
    message = refusal(**{setting: value})
    assert setting in message
    assert "never-shown" not in message
    assert len(value) < 3 or value not in message  # ("0" is in "greater than 0")


@pytest.mark.parametrize("level", ["debug", "INFO", "Warning", "ERROR", "critical"])
def test_every_log_level_both_our_handler_and_uvicorn_know_is_taken(level: str) -> None:
    assert Settings.model_validate({"SUNAP_LOG_LEVEL": level}).log_level == level


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///sunap.db",
        "sqlite+aiosqlite:///sunap.db",
        "postgresql://u@db/sunap",
        "postgres://u@db/sunap",
        "postgresql+asyncpg://u@db/sunap",
        "mysql://u@db/sunap",
        "mariadb://u@db/sunap",
    ],
)
def test_every_database_url_the_engine_has_a_driver_for_is_taken(url: str) -> None:
    assert Settings.model_validate({"SUNAP_DATABASE_URL": url}).database_url == url


def test_the_settings_know_the_same_backends_as_the_engine() -> None:
    assert set(_ASYNC_DRIVERS) == DATABASE_BACKENDS


def test_the_database_pool_size_defaults_to_the_engines_and_takes_any_sane_size() -> None:
    assert Settings.model_validate({}).database_pool_size == POOL_SIZE
    for size in ("1", "5", str(MAX_DATABASE_POOL_SIZE)):
        assert Settings.model_validate(
            {"SUNAP_DATABASE_POOL_SIZE": size}
        ).database_pool_size == int(size)


def test_toss_secret_key_is_checked_as_tenants_set_toss_checks_a_tenants_key() -> None:
    from sunap.application.pg_accounts import AccountRefused, check_account_keys

    with pytest.raises(AccountRefused) as refused:
        check_account_keys("garbage", None, production=False)
    assert refused.value.args[0] in refusal(TOSS_SECRET_KEY="garbage")
    assert Settings.model_validate({"TOSS_SECRET_KEY": "test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R"})


def test_reconcile_delays_are_read_as_seconds() -> None:
    settings = Settings.model_validate({"SUNAP_RECONCILE_DELAYS": "1, 2.5,0"})
    assert settings.reconcile_delay_seconds == [1.0, 2.5, 0.0]


@pytest.mark.parametrize(
    "url",
    ["https://api.tosspayments.com", "http://127.0.0.1:8090", "http://[::1]:8087/toss-sandbox/"],
)
def test_a_toss_api_base_url_with_a_scheme_and_a_host_is_taken(url: str) -> None:
    assert Settings.model_validate({"TOSS_API_BASE_URL": url}).toss_api_base_url == url


@pytest.mark.parametrize(
    "url",
    [
        "kafka://k1:9092, k2:9093",
        "kafka://k1",
        "amqp://guest:guest@127.0.0.1:5672/",
        "amqps://sunap:p%40ss@mq.example:5671/shop",
        "nats://127.0.0.1:4222",
        "tls://nats.example:4222",
        "redis://127.0.0.1:6379/0",
        "rediss://:secret@redis.example:6380/1",
        "redis://[::1]:6379/0",
    ],
)
def test_every_broker_url_the_adapters_read_is_taken(url: str) -> None:
    assert Settings.model_validate({"SUNAP_BROKER_URL": url}).broker_url == url


@pytest.mark.parametrize("url", ["", "  "])
def test_a_blank_broker_url_means_no_broker(url: str) -> None:
    assert Settings.model_validate({"SUNAP_BROKER_URL": url}).broker_url == url


def test_an_empty_kafka_url_is_refused_naming_what_is_missing() -> None:
    assert "names no server" in refusal(SUNAP_BROKER_URL="kafka://")


@pytest.mark.parametrize("token", ["", "   "])
def test_an_empty_metrics_token_is_refused_rather_than_leaving_metrics_open(token: str) -> None:
    assert "SUNAP_METRICS_TOKEN" in refusal(SUNAP_METRICS_TOKEN=token)
