"""Toss's Payment and Billing JSON read into our DTOs: our words, whole numbers, no surprises."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from sunap.adapters.toss import TossGateway
from sunap.adapters.toss.wire import WireError, parse_billing, parse_payment
from sunap.application.ports.gateway import GatewayCancel
from sunap.domain.payment import (
    CardDetails,
    EasyPayDetails,
    Failure,
    PaymentMethod,
    PaymentStatus,
    VirtualAccountDetails,
)
from sunap_toss.transport import parse_json
from tests.unit.toss.toss_fakes import FakeToss, card_payment, virtual_account_payment

KST = timezone(timedelta(hours=9))


def test_a_full_card_payment_is_read_in_our_vocabulary() -> None:
    payment = parse_payment(card_payment())
    assert payment.payment_key == "5EnNZRJGvaBX7zk2yd8ydw26XvwXkLrx9POLqKQjmAw4b0e1"
    assert payment.order_id == "order-123456"
    assert payment.status is PaymentStatus.DONE
    assert payment.method is PaymentMethod.CARD
    assert (payment.total_amount, payment.balance_amount, payment.currency) == (15000, 15000, "KRW")
    assert payment.approved_at == datetime(2022, 8, 5, 12, 56, 21, tzinfo=KST)
    assert payment.requested_at == datetime(2022, 8, 5, 12, 56, tzinfo=KST)
    assert payment.card == CardDetails(
        company="61",
        number="48902300****406*",
        card_type="신용",
        owner_type="개인",
        installment_plan_months=0,
        approve_no="00000000",
    )
    assert payment.receipt_url is not None and payment.receipt_url.startswith("https://dashboard")
    assert payment.last_transaction_key == "B7103F204998813B889C77C043D09502"
    assert payment.cancels == ()
    assert payment.deposit_secret is None
    assert payment.virtual_account is None


def test_a_virtual_account_payment_keeps_the_account_and_the_deposit_secret() -> None:
    payment = parse_payment(virtual_account_payment())
    assert payment.status is PaymentStatus.WAITING_FOR_DEPOSIT
    assert payment.method is PaymentMethod.VIRTUAL_ACCOUNT
    assert payment.virtual_account == VirtualAccountDetails(
        bank="20",
        account_number="X6505636518308",
        customer_name="박토스",
        due_date="2022-08-12T12:56:00+09:00",
    )
    assert payment.deposit_secret == "ps_Z1aOwX7K8mYPbBQKyW1r8yQxzvNP"
    assert payment.approved_at is None


@pytest.mark.parametrize(
    ("toss_method", "ours"),
    [
        ("카드", PaymentMethod.CARD),
        ("가상계좌", PaymentMethod.VIRTUAL_ACCOUNT),
        ("간편결제", PaymentMethod.EASY_PAY),
        ("계좌이체", PaymentMethod.TRANSFER),
        ("휴대폰", PaymentMethod.MOBILE_PHONE),
        ("문화상품권", PaymentMethod.GIFT_CERTIFICATE),
        ("도서문화상품권", PaymentMethod.GIFT_CERTIFICATE),
        ("게임문화상품권", PaymentMethod.GIFT_CERTIFICATE),
        (None, None),
        ("새로운결제수단", None),
    ],
)
def test_toss_method_names_become_ours(toss_method: str | None, ours: PaymentMethod | None) -> None:
    assert parse_payment(card_payment(method=toss_method)).method is ours


@pytest.mark.parametrize("status", [s.value for s in PaymentStatus])
def test_every_toss_status_is_one_of_ours(status: str) -> None:
    assert parse_payment(card_payment(status=status)).status == status


def test_partial_cancels_are_listed_with_their_transaction_keys() -> None:
    payment = parse_payment(
        card_payment(
            status="PARTIAL_CANCELED",
            balanceAmount=8000,
            totalAmount=10000,
            lastTransactionKey="tx_2",
            cancels=[
                {
                    "cancelAmount": 1000,
                    "cancelReason": "부분 취소",
                    "taxFreeAmount": 0,
                    "refundableAmount": 9000,
                    "canceledAt": "2024-02-13T12:20:23+09:00",
                    "transactionKey": "tx_1",
                    "receiptKey": None,
                    "cancelStatus": "DONE",
                },
                {
                    "cancelAmount": 1000,
                    "cancelReason": "부분 취소",
                    "refundableAmount": 8000,
                    "canceledAt": "2024-02-13T12:21:23+09:00",
                    "transactionKey": "tx_2",
                },
            ],
        )
    )
    assert payment.status is PaymentStatus.PARTIAL_CANCELED
    assert payment.balance_amount == 8000
    assert payment.cancels == (
        GatewayCancel(1000, "부분 취소", datetime(2024, 2, 13, 12, 20, 23, tzinfo=KST), "tx_1"),
        GatewayCancel(1000, "부분 취소", datetime(2024, 2, 13, 12, 21, 23, tzinfo=KST), "tx_2"),
    )
    assert payment.last_transaction_key == "tx_2"


def test_easy_pay_and_failure_are_read() -> None:
    payment = parse_payment(
        card_payment(
            status="ABORTED",
            method="간편결제",
            easyPay={"provider": "토스페이", "amount": 15000, "discountAmount": 0},
            failure={"code": "REJECT_CARD_PAYMENT", "message": "한도초과 혹은 잔액부족"},
        )
    )
    assert payment.easy_pay == EasyPayDetails(provider="토스페이", amount=15000, discount_amount=0)
    assert payment.failure == Failure("REJECT_CARD_PAYMENT", "한도초과 혹은 잔액부족")


def test_fields_toss_adds_tomorrow_are_ignored() -> None:
    payment = card_payment(brandNewField={"nested": [1, 2]}, anotherOne=True)
    payment["card"]["shinyNewCardField"] = "x"
    assert parse_payment(payment).status is PaymentStatus.DONE


def test_amounts_are_ints_even_when_toss_writes_them_with_a_decimal_point() -> None:
    body = parse_json(
        '{"paymentKey":"pk","orderId":"order-1","status":"DONE",'
        '"totalAmount":15000.0,"balanceAmount":1e4,"cancels":[]}'
    )
    payment = parse_payment(body)
    assert payment.total_amount == 15000 and type(payment.total_amount) is int
    assert payment.balance_amount == 10000 and type(payment.balance_amount) is int


def test_json_numbers_never_become_floats() -> None:
    parsed = parse_json('{"a": 1.5, "b": [2.25], "c": 3}')
    assert not any(isinstance(v, float) for v in (parsed["a"], parsed["b"][0], parsed["c"]))


@pytest.mark.parametrize("amount", ["15000.5", "true", '"abc"', "-1", "null", '{"v":1}'])
def test_an_amount_that_is_not_a_whole_number_is_refused(amount: str) -> None:
    body = parse_json(
        '{"paymentKey":"pk","orderId":"order-1","status":"DONE",'
        f'"totalAmount":{amount},"balanceAmount":0}}'
    )
    with pytest.raises(WireError):
        parse_payment(body)


@pytest.mark.parametrize(
    "broken",
    [{"status": "SHIPPED"}, {"paymentKey": None}, {"approvedAt": "yesterday"}, {"cancels": {}}],
)
def test_a_payment_we_cannot_trust_is_refused_rather_than_guessed(
    broken: dict[str, object],
) -> None:
    with pytest.raises(WireError):
        parse_payment(card_payment(**broken))


def test_a_billing_authorization_is_read() -> None:
    billing = parse_billing(
        {
            "mId": "tosspayments",
            "customerKey": "cust-1",
            "authenticatedAt": "2020-09-25T14:38:41+09:00",
            "method": "카드",
            "billingKey": "Z_t5vOvQxrj4499PeiJcjen28-V2RyqgYTwN44Rdzk0=",
            "card": {
                "issuerCode": "71",
                "acquirerCode": "71",
                "number": "43301234****123*",
                "cardType": "신용",
                "ownerType": "개인",
            },
        }
    )
    assert billing.billing_key == "Z_t5vOvQxrj4499PeiJcjen28-V2RyqgYTwN44Rdzk0="
    assert billing.customer_key == "cust-1"
    assert billing.card is not None and billing.card.company == "71"
    assert billing.card.number == "43301234****123*"
    assert billing.authenticated_at == datetime(2020, 9, 25, 14, 38, 41, tzinfo=KST)


def test_an_older_billing_object_with_a_flat_card_is_read() -> None:
    billing = parse_billing(
        {
            "customerKey": "c",
            "billingKey": "bk",
            "cardCompany": "현대",
            "cardNumber": "433012******1234",
        }
    )
    assert billing.card is not None
    assert (billing.card.company, billing.card.number) == ("현대", "433012******1234")


async def test_the_gateway_returns_the_payment_with_its_audit_exchange(
    gateway: TossGateway, toss: FakeToss
) -> None:
    toss.answer(200, virtual_account_payment())
    payment = await gateway.confirm(
        payment_key="pk", order_id="order-123456", amount=15000, idempotency_key="k"
    )
    assert payment.deposit_secret == "ps_Z1aOwX7K8mYPbBQKyW1r8yQxzvNP"
    assert payment.exchange is not None
    assert payment.exchange.operation == "confirm"
    assert payment.exchange.outcome == "ok"
    assert payment.exchange.status_code == 200
    assert payment.exchange.path == "/v1/payments/confirm"


def test_an_overdue_virtual_account_is_read_as_expired_while_still_waiting() -> None:
    body = virtual_account_payment()
    assert parse_payment(body).account_expired is False
    body["virtualAccount"]["expired"] = True
    overdue = parse_payment(body)
    assert overdue.status is PaymentStatus.WAITING_FOR_DEPOSIT and overdue.account_expired
