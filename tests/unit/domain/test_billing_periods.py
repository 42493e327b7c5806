"""Billing periods on the billing calendar: monthly anchors clamp to the month's end and come back."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from sunap.domain.periods import Interval, boundary

SEOUL = ZoneInfo("Asia/Seoul")


def kst(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SEOUL).astimezone(UTC)


def test_a_monthly_anchor_on_the_31st_clamps_to_february_and_returns_in_march() -> None:
    anchor = kst(2026, 1, 31, 9, 0)
    ends = [boundary(anchor, Interval.MONTH, 1, n, SEOUL) for n in range(4)]
    assert ends == [
        kst(2026, 1, 31, 9),
        kst(2026, 2, 28, 9),
        kst(2026, 3, 31, 9),
        kst(2026, 4, 30, 9),
    ]


def test_a_leap_year_gives_february_its_29th() -> None:
    anchor = kst(2028, 1, 31, 0, 30)
    assert boundary(anchor, Interval.MONTH, 1, 1, SEOUL) == kst(2028, 2, 29, 0, 30)


def test_a_yearly_anchor_on_february_29_falls_on_the_28th_in_common_years() -> None:
    anchor = kst(2028, 2, 29, 12)
    assert boundary(anchor, Interval.YEAR, 1, 1, SEOUL) == kst(2029, 2, 28, 12)
    assert boundary(anchor, Interval.YEAR, 1, 4, SEOUL) == kst(2032, 2, 29, 12)


def test_the_day_is_the_billing_calendars_day_not_utcs() -> None:
    # 00:30 on Jan 31 in Seoul is still Jan 30 in UTC: the anchor day is the 31st.
    anchor = kst(2026, 1, 31, 0, 30)
    assert anchor.day == 30
    assert boundary(anchor, Interval.MONTH, 1, 1, SEOUL) == kst(2026, 2, 28, 0, 30)


@pytest.mark.parametrize(
    ("interval", "count", "expected"),
    [
        (Interval.DAY, 1, kst(2026, 3, 2, 10)),
        (Interval.WEEK, 2, kst(2026, 3, 15, 10)),
        (Interval.MONTH, 3, kst(2026, 6, 1, 10)),
        (Interval.YEAR, 1, kst(2027, 3, 1, 10)),
    ],
)
def test_each_interval_moves_the_anchor_by_its_count(
    interval: Interval, count: int, expected: datetime
) -> None:
    assert boundary(kst(2026, 3, 1, 10), interval, count, 1, SEOUL) == expected


def test_a_boundary_across_new_year_moves_the_year() -> None:
    assert boundary(kst(2026, 11, 30, 8), Interval.MONTH, 1, 3, SEOUL) == kst(2027, 2, 28, 8)
