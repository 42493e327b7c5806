"""Billing periods: boundaries counted from an anchor on the billing calendar's wall clock.

Every boundary is computed from the anchor, never from the previous boundary, so a monthly
anchor on the 31st is clamped to a short month's last day and comes back afterwards
(Jan 31 → Feb 28/29 → Mar 31).
"""

from __future__ import annotations

import calendar
import enum
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


class Interval(enum.StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


def boundary(
    anchor: datetime, interval: Interval, count: int, periods: int, zone: ZoneInfo
) -> datetime:
    """The start of period number `periods` (0: the anchor itself), in UTC."""
    local = anchor.astimezone(zone).replace(tzinfo=None)  # wall clock on the billing calendar
    steps = count * periods
    match interval:
        case Interval.DAY:
            moved = local + timedelta(days=steps)
        case Interval.WEEK:
            moved = local + timedelta(weeks=steps)
        case Interval.MONTH:
            moved = _add_months(local, steps)
        case Interval.YEAR:
            moved = _add_months(local, 12 * steps)
    return moved.replace(tzinfo=zone).astimezone(UTC)


def _add_months(local: datetime, months: int) -> datetime:
    index = local.year * 12 + (local.month - 1) + months
    year, month = divmod(index, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    return local.replace(year=year, month=month + 1, day=min(local.day, last_day))
