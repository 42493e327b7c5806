"""The settings of this part of the service: rate limits, READY expiry, docs and metrics."""

from __future__ import annotations

import pytest

from sunap.config import ConfigurationError, Settings


def settings(**env: str) -> Settings:
    return Settings.model_validate(env)


def test_the_default_rate_is_100_a_second_with_a_burst_of_200() -> None:
    assert settings().rate_limit_bucket == (100.0, 200.0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("600/m", (10.0, 1200.0)),
        ("5/m", (5 / 60, 10.0)),
        ("3600/h", (1.0, 7200.0)),
        ("2/s", (2.0, 4.0)),
    ],
)
def test_a_rate_is_a_count_per_second_minute_or_hour(text: str, expected: tuple[float, float]):
    assert settings(SUNAP_RATE_LIMIT=text).rate_limit_bucket == pytest.approx(expected)


@pytest.mark.parametrize("text", ["off", "OFF", " off "])
def test_off_turns_the_rate_limit_off(text: str) -> None:
    assert settings(SUNAP_RATE_LIMIT=text).rate_limit_bucket is None


@pytest.mark.parametrize("text", ["100", "100/d", "fast", "0/s", "0.4/s", "-5/s", "/s"])
def test_a_rate_that_says_nothing_clear_refuses_to_start(text: str) -> None:
    with pytest.raises(ConfigurationError, match="SUNAP_RATE_LIMIT"):
        settings(SUNAP_RATE_LIMIT=text)


def test_ready_payments_live_a_day_unless_told_otherwise() -> None:
    assert settings().ready_ttl_seconds == 86400
    assert settings(SUNAP_READY_TTL_SECONDS="90").ready_ttl_seconds == 90


def test_docs_are_served_in_development_and_in_production_only_on_request() -> None:
    assert settings().serves_docs
    live = {"SUNAP_PRODUCTION": "true", "TOSS_SECRET_KEY": "live_sk_docs_test_only_0001"}
    assert not settings(**live).serves_docs
    assert settings(**live, SUNAP_PUBLIC_DOCS="true").serves_docs


@pytest.mark.parametrize("empty", ["", "   "])
def test_a_toss_key_set_but_empty_refuses_to_start_rather_than_mean_the_sandbox(empty: str) -> None:
    with pytest.raises(ConfigurationError, match="TOSS_SECRET_KEY is set but empty"):
        settings(TOSS_SECRET_KEY=empty)
