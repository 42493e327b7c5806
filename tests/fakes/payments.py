"""Payments in a chosen status, built only through the aggregate's own verbs."""

from __future__ import annotations

from datetime import UTC, datetime

from sunap.domain.payment import Approval, Failure, Payment, PaymentMethod, PaymentStatus

S = PaymentStatus
NOW = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
CONFIRM_KEY = "sunap:confirm:pay_test"


def new_payment(
    *,
    amount: int = 15000,
    method: PaymentMethod | None = None,
    id: str = "pay_test",
    tenant_id: str = "tenant_a",
    order_id: str = "order-0001",
    pg_account_id: str = "default",
) -> Payment:
    return Payment.create(
        id=id,
        tenant_id=tenant_id,
        pg_account_id=pg_account_id,
        order_id=order_id,
        order_name="Blue socks",
        amount=amount,
        currency="KRW",
        now=NOW,
        method=method,
    )


def approval(
    payment_key: str = "pk_test",
    status: PaymentStatus = S.DONE,
    method: PaymentMethod = PaymentMethod.CARD,
) -> Approval:
    return Approval(payment_key=payment_key, status=status, method=method, approved_at=NOW)


def payment_in(
    status: PaymentStatus,
    *,
    amount: int = 15000,
    method: PaymentMethod = PaymentMethod.CARD,
    payment_key: str = "pk_test",
) -> Payment:
    """A payment that reached `status` the way a real one does, with its events cleared."""
    payment = new_payment(amount=amount, method=method)
    if status is S.EXPIRED:
        payment.expire(NOW)
    elif status is not S.READY:
        payment.begin_confirm(
            payment_key=payment_key, amount=amount, idempotency_key=CONFIRM_KEY, now=NOW
        )
    if status is S.ABORTED:
        payment.abort(Failure("REJECT_CARD_PAYMENT", "한도초과 혹은 잔액부족"), NOW)
    elif status is S.WAITING_FOR_DEPOSIT:
        payment.approve(approval(payment_key, S.WAITING_FOR_DEPOSIT, method), NOW)
    elif status in (S.DONE, S.PARTIAL_CANCELED, S.CANCELED):
        payment.approve(approval(payment_key, S.DONE, method), NOW)
    if status in (S.PARTIAL_CANCELED, S.CANCELED):
        part = 1000 if status is S.PARTIAL_CANCELED else None
        cancel = payment.begin_cancel(
            cancel_id="cancel_setup",
            reason="setup",
            amount=part,
            idempotency_key="sunap:cancel:cancel_setup",
            has_refund_account=True,
            now=NOW,
        )
        assert cancel is not None
        payment.complete_cancel(cancel.id, transaction_key="txk_setup", canceled_at=NOW, now=NOW)
    assert payment.status is status
    payment.events.clear()
    return payment
