"""Nothing secret reaches the audit trail or the logs."""

from __future__ import annotations

import json
import logging
from decimal import Decimal

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sunap.adapters.toss import TossGateway
from sunap.application.ports.gateway import GatewayDeclined, GatewayUnknown, RefundAccount
from sunap_toss.redaction import _CARD_NUMBER, _EMAIL, _PHONE, MASK, redact, redact_text
from tests.unit.toss.toss_fakes import (
    DOC_SECRET_KEY,
    FakeToss,
    card_payment,
    virtual_account_payment,
)

AUTH_TOKEN = "dGVzdF9nc2tfZG9jc19PYVB6OEw1S2RtUVhrelJ6M3k0N0JNdzY6"


@pytest.mark.parametrize(
    "field",
    [
        "secret",
        "billingKey",
        "authKey",
        "customerKey",
        "cardNumber",
        "cardPassword",
        "customerIdentityNumber",
        "customerEmail",
        "customerMobilePhone",
    ],
)
def test_a_sensitive_field_is_masked_at_any_depth(field: str) -> None:
    redacted = redact({"outer": [{field: "sensitive-value"}], field: "sensitive-value"})
    assert redacted == {"outer": [{field: MASK}], field: MASK}


def test_the_refund_account_number_and_holder_are_masked_but_the_bank_is_kept() -> None:
    redacted = redact(
        {
            "refundReceiveAccount": {
                "bank": "88",
                "accountNumber": "110123456789",
                "holderName": "김토스",
            }
        }
    )
    assert redacted == {
        "refundReceiveAccount": {"bank": "88", "accountNumber": MASK, "holderName": MASK}
    }


def test_a_virtual_account_number_is_kept_because_the_customer_must_see_it() -> None:
    assert redact({"virtualAccount": {"accountNumber": "X6505636518308"}}) == {
        "virtualAccount": {"accountNumber": "X6505636518308"}
    }


@pytest.mark.parametrize(
    "text",
    [
        "card 4330123412341234 declined",
        "card 4330-1234-1234-1234 declined",
        "card 4330 1234 1234 1234 declined",
        "card 4330123412341 (13 digits)",
        "card 4330123412341234567 (19 digits)",
        "mail toss@example.co.kr please",
        "call 010-1234-5678 now",
        "call 01012345678 now",
    ],
)
def test_card_numbers_emails_and_phone_numbers_are_masked_inside_text(text: str) -> None:
    redacted = redact_text(text)
    assert MASK in redacted
    assert not any(run in redacted for run in ("4330", "toss@", "1234-5678", "12345678"))


@pytest.mark.parametrize(
    "kept",
    [
        "48902300****406*",
        "tnhig20251121102047bvrO8",
        "2022-08-05T12:56:21+09:00",
        "order-20240101123456789",
        "B7103F204998813B889C77C043D09502",
    ],
)
def test_masked_card_numbers_keys_and_timestamps_are_left_alone(kept: str) -> None:
    assert redact_text(kept) == kept


def test_decimals_become_ints_or_strings_so_the_exchange_is_json_and_float_free() -> None:
    redacted = redact({"a": Decimal("15000.0"), "b": Decimal("181.56")})
    assert redacted == {"a": 15000, "b": "181.56"}
    assert type(redacted["a"]) is int
    json.dumps(redacted)


async def test_the_exchange_of_a_cancel_masks_the_refund_account(
    gateway: TossGateway, toss: FakeToss
) -> None:
    toss.answer(200, virtual_account_payment(status="CANCELED", balanceAmount=0))
    payment = await gateway.cancel(
        payment_key="pk",
        reason="환불",
        amount=None,
        idempotency_key="k",
        refund_account=RefundAccount("88", "110123456789", "김토스"),
    )
    assert payment.exchange is not None
    assert payment.exchange.request_data == {
        "cancelReason": "환불",
        "refundReceiveAccount": {"bank": "88", "accountNumber": MASK, "holderName": MASK},
    }
    assert payment.exchange.response_data is not None
    assert payment.exchange.response_data["secret"] == MASK
    assert payment.deposit_secret == "ps_Z1aOwX7K8mYPbBQKyW1r8yQxzvNP"  # the caller gets it, once


async def test_billing_exchanges_and_logs_never_hold_the_billing_key(
    gateway: TossGateway, toss: FakeToss, caplog: pytest.LogCaptureFixture
) -> None:
    billing_key = "Z_t5vOvQxrj4499PeiJcjen28-V2RyqgYTwN44Rdzk0="
    toss.answer(200, {"customerKey": "cust-1", "billingKey": billing_key, "card": None})
    toss.answer(200, card_payment(type="BILLING"))
    caplog.set_level(logging.DEBUG, logger="sunap_toss")
    billing = await gateway.issue_billing_key(
        auth_key="auth-secret", customer_key="cust-1", idempotency_key="i"
    )
    payment = await gateway.charge_billing_key(
        billing_key=billing_key,
        customer_key="cust-1",
        order_id="order-2",
        order_name="정기결제",
        amount=9900,
        idempotency_key="c",
    )
    assert billing.billing_key == billing_key
    exchanges = json.dumps([billing.exchange.__dict__, payment.exchange.__dict__], default=str)
    assert billing_key not in exchanges and "auth-secret" not in exchanges
    assert payment.exchange is not None and payment.exchange.path == "/v1/billing/{billingKey}"
    assert billing_key not in caplog.text and "auth-secret" not in caplog.text


async def test_one_log_line_per_attempt_says_what_happened_without_secrets(
    gateway: TossGateway, toss: FakeToss, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="sunap_toss")
    toss.fail(httpx.ReadTimeout("slow"))
    toss.answer(200, card_payment())
    await gateway.confirm(payment_key="pk", order_id="order-1", amount=15000, idempotency_key="k")
    lines = [r.getMessage() for r in caplog.records if r.name == "sunap_toss"]
    assert len(lines) == 2
    assert "confirm POST /v1/payments/confirm" in lines[0]
    assert "code=TIMEOUT" in lines[0] and "attempt=1" in lines[0]
    assert "status=200" in lines[1] and "attempt=2" in lines[1] and "ms=" in lines[1]
    assert DOC_SECRET_KEY not in caplog.text and AUTH_TOKEN not in caplog.text


async def test_no_exchange_carries_the_authorization_header(
    gateway: TossGateway, toss: FakeToss
) -> None:
    toss.error("COMMON_ERROR", 500, times=3)
    with pytest.raises(GatewayUnknown) as caught:
        await gateway.confirm(payment_key="pk", order_id="order-1", amount=1, idempotency_key="k")
    dumped = json.dumps(caught.value.exchange.__dict__, default=str)
    assert AUTH_TOKEN not in dumped and DOC_SECRET_KEY not in dumped
    assert "Authorization" not in dumped


async def test_a_card_number_echoed_in_an_error_message_is_masked(
    gateway: TossGateway, toss: FakeToss
) -> None:
    toss.answer(400, {"code": "INVALID_CARD_NUMBER", "message": "카드번호 4330123412341234 오류"})
    with pytest.raises(GatewayDeclined) as caught:
        await gateway.confirm(payment_key="pk", order_id="order-1", amount=1, idempotency_key="k")
    assert "4330123412341234" not in str(caught.value)
    assert "4330123412341234" not in json.dumps(caught.value.exchange.__dict__, default=str)


# Strings made of the pieces the patterns look at: digit runs, separators, "@", a dotted domain.
_PIECES = [
    "0",
    "1",
    "7",
    "010",
    "4330",
    "1234",
    "5678",
    " ",
    "-",
    "--",
    "+82",
    "@",
    "a",
    "x.kr",
    "_",
]


@given(st.lists(st.sampled_from(_PIECES), max_size=16).map("".join))
def test_the_quick_look_before_masking_never_lets_through_what_the_patterns_would_mask(
    text: str,
) -> None:
    # redact_text first looks for what any pattern needs at least; the full patterns decide.
    every_pattern = _PHONE.sub(MASK, _EMAIL.sub(MASK, _CARD_NUMBER.sub(MASK, text)))
    assert redact_text(text) == every_pattern


_SECRETS = {"secret", "billingKey", "authKey", "customerKey", "cardNumber", "cardPassword"}
_SECRETS |= {"customerIdentityNumber", "registrationNumber", "customerEmail"}
_SECRETS |= {"customerMobilePhone", "bankAccountNumber"}


def _redacted_field_by_field(value: object, field: str | None = None) -> object:
    """The redaction as first written, one call per value: what the loop must keep giving."""
    if isinstance(value, dict):
        in_refund_account = field == "refundReceiveAccount"
        return {
            key: (
                MASK
                if (
                    key in _SECRETS
                    or (in_refund_account and key in {"accountNumber", "holderName"})
                )
                and item is not None
                else _redacted_field_by_field(item, key)
            )
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redacted_field_by_field(item, field) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    return value


_KEYS = st.sampled_from(
    [*_SECRETS, "accountNumber", "holderName", "refundReceiveAccount", "bank", "card", "amount"]
)
_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["4330123412341234", "a@b.kr", "010-1234-5678", "신용", ""])
)
_JSON_LIKE = st.recursive(
    _LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=5),
    max_leaves=20,
)


@given(_JSON_LIKE)
def test_the_redaction_masks_exactly_what_the_field_by_field_version_masked(value: object) -> None:
    # redact handles a field's common kinds (null, text, numbers) in its loop, for speed.
    assert redact(value) == _redacted_field_by_field(value)
