"""The subscriptions pages' pieces: a period in words, and the list's filters as the page reads
them from the query string (anything not understood is dropped and flagged, never a 500)."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from sunap.entrypoints.web.dashboard_subscriptions import subscription_filter
from sunap.entrypoints.web.i18n import Translator
from sunap.entrypoints.web.pages import format_interval

KO, EN = Translator("ko"), Translator("en")


@pytest.mark.parametrize(
    ("count", "interval", "korean", "english"),
    [
        (1, "month", "1개월", "month"),
        (3, "month", "3개월", "3 months"),
        (2, "week", "2주", "2 weeks"),
        (1, "day", "1일", "day"),
        (1, "year", "1년", "year"),
    ],
)
def test_a_period_reads_naturally_in_both_languages(
    count: int, interval: str, korean: str, english: str
) -> None:
    assert format_interval(count, interval, KO) == korean
    assert format_interval(count, interval, EN) == english


def _request(query: bytes) -> Request:
    return Request({"type": "http", "method": "GET", "query_string": query, "headers": []})


def test_the_filters_pass_a_status_an_exact_customer_key_and_a_cursor() -> None:
    found = subscription_filter(_request(b"status=PAST_DUE&customerKey=+cust-1+&cursor=abc_D-1"))
    assert not found.problem
    assert found.query.status == "PAST_DUE"
    assert found.query.customer_key == "cust-1"
    assert found.query.cursor == "abc_D-1"
    assert found.query.limit == 25
    assert found.shown == {"status": "PAST_DUE", "customerKey": "cust-1"}


def test_no_filters_is_the_first_page_of_everything() -> None:
    found = subscription_filter(_request(b""))
    assert not found.problem
    assert (found.query.status, found.query.customer_key, found.query.cursor) == (None, None, None)


@pytest.mark.parametrize(
    "query",
    [
        b"status=BOGUS",
        b"status=active",
        b"cursor=" + b"x" * 600,
        b"cursor=%E2%82%A9",
        b"cursor=%0A",
    ],
)
def test_what_is_not_understood_is_dropped_and_flagged(query: bytes) -> None:
    found = subscription_filter(_request(query))
    assert found.problem
    assert found.query.status is None and found.query.cursor is None
