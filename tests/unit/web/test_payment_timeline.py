"""The dashboard's payment timeline: its moments in time order, the status line last."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sunap.application.audit_kinds import AuditStatus, AuditType, webhook_type
from sunap.application.ports.audit import AuditEntry
from sunap.domain.payment import Approval, Payment, PaymentMethod, PaymentStatus
from sunap.entrypoints.web.dashboard import Moment, _timeline
from sunap.entrypoints.web.i18n import Translator

START = datetime(2026, 12, 1, 7, 32, 2, 858000, tzinfo=UTC)


def row(kind: str, at: datetime, status: str = AuditStatus.OK) -> AuditEntry:
    return AuditEntry("a", "t", "p", kind, status, None, None, None, at)


def seconds(moments: list[Moment]) -> list[datetime]:
    """To the second, as the timeline orders them (the PG reports its times to the second)."""
    return [m.at.replace(microsecond=0) for m in moments]


def paid_payment() -> Payment:
    payment = Payment.create(
        id="p",
        tenant_id="t",
        pg_account_id="default",
        order_id="order-0001",
        order_name="생수",
        amount=15000,
        currency="KRW",
        now=START,
    )
    approval = Approval("tpk_1", PaymentStatus.DONE, PaymentMethod.CARD, START)
    payment.approve(approval, START + timedelta(milliseconds=40))
    return payment


def test_a_webhook_after_the_last_change_comes_before_the_status_line_in_time_order() -> None:
    """Toss's status webhook, applied after the payment's last change and changing nothing,
    was listed above the status line, which carried the older time of that change."""
    payment = paid_payment()
    webhook_at = payment.updated_at + timedelta(seconds=11)
    audit = [
        row(AuditType.CONFIRM_CLAIMED, START + timedelta(milliseconds=30)),
        row(webhook_type("PAYMENT_STATUS_CHANGED"), webhook_at, AuditStatus.UNCHANGED),
    ]

    moments = _timeline(payment, audit, Translator("ko"))

    times = seconds(moments)
    assert times == sorted(times), [(m.at.isoformat(), m.text) for m in moments]
    assert moments[-1].text.startswith("현재 상태") and moments[-1].at == webhook_at


def test_the_status_line_is_dated_at_the_last_change_when_nothing_came_after_it() -> None:
    payment = paid_payment()
    moments = _timeline(payment, [], Translator("ko"))
    assert moments[-1].at == payment.updated_at
    assert seconds(moments) == sorted(seconds(moments))
