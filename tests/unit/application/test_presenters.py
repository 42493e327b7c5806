"""The public shapes: one moment reads one way, whether it came from Toss or the database."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

from sunap.application.presenters import payment_resource, rfc3339
from sunap.domain.payment import PaymentStatus
from tests.fakes.payments import payment_in

KST = timezone(timedelta(hours=9))


def test_a_time_in_kst_is_answered_in_utc() -> None:
    assert rfc3339(datetime(2026, 11, 30, 9, 0, 0, 123456, KST)) == "2026-11-30T00:00:00.123+00:00"
    assert rfc3339(None) is None


def test_an_approval_time_from_toss_reads_as_it_will_once_read_back() -> None:
    from_toss = datetime(2026, 11, 30, 15, 30, tzinfo=KST)
    fresh = dataclasses.replace(payment_in(PaymentStatus.DONE), approved_at=from_toss)
    stored = dataclasses.replace(fresh, approved_at=from_toss.astimezone(UTC))
    assert payment_resource(fresh)["approvedAt"] == payment_resource(stored)["approvedAt"]
