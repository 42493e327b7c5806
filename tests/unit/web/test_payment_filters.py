"""The payments page's date range as the page reads it from the query string: a KST day, and a
date it cannot use (not a date, or the calendar's first or last day, whose edges no datetime
holds) dropped and flagged with the "check what you entered" line, never a 500."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from starlette.requests import Request

from sunap.entrypoints.web.dashboard import _payment_filter


def _request(query: bytes) -> Request:
    return Request({"type": "http", "method": "GET", "query_string": query, "headers": []})


def test_a_range_is_whole_days_in_korea_standard_time() -> None:
    found, problem = _payment_filter(_request(b"from=2026-03-01&to=2026-03-02"))
    assert not problem
    assert found.created_from == datetime(2026, 2, 28, 15, tzinfo=UTC)
    assert found.created_before == datetime(2026, 3, 2, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    "query",
    [b"from=0001-01-01", b"to=0001-01-01", b"from=9999-12-31", b"to=9999-12-31", b"to=2026-13-01"],
)
def test_a_date_the_page_cannot_use_is_dropped_and_flagged(query: bytes) -> None:
    found, problem = _payment_filter(_request(query))
    assert problem
    assert found.created_from is None and found.created_before is None
