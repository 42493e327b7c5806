"""Signed deliveries (docs/reliability.md, Webhooks): Toss's scheme and Standard Webhooks', over
the raw bytes, within five minutes, with either of two rotating secrets."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from sunap.adapters.toss.webhook_signatures import verify_signature
from sunap.application.ports.webhook_format import SignatureInvalid
from tests.support.webhook_signing import sign_standard, sign_toss

Signer = Callable[..., dict[str, str]]
NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
KST = timezone(timedelta(hours=9))
TOSS_KEY = "toss-security-key-0001"
OLD_TOSS_KEY = "toss-security-key-0000"
WHSEC = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
OLD_WHSEC = "whsec_" + base64.b64encode(b"fedcba9876543210fedcba9876543210").decode()
BODY = (
    b'{"eventType":"payout.changed","createdAt":"2026-03-01T21:00:00+09:00",'
    b'"eventId":"evt_01","entityType":"payout","entityBody":{"status":"COMPLETED"}}'
)


def toss_headers(body: bytes, secret: str, at: datetime = NOW) -> dict[str, str]:
    sent_at = at.astimezone(KST).isoformat(timespec="seconds")
    return {
        "tosspayments-webhook-transmission-time": sent_at,
        "tosspayments-webhook-signature": sign_toss(body, sent_at, secret),
    }


def standard_headers(body: bytes, secret: str, at: datetime = NOW) -> dict[str, str]:
    timestamp = int(at.timestamp())
    return {
        "webhook-id": "msg_2Lc3",
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign_standard(body, "msg_2Lc3", timestamp, secret),
    }


SCHEMES = [
    pytest.param(toss_headers, TOSS_KEY, id="toss"),
    pytest.param(standard_headers, WHSEC, id="standard"),
]


@pytest.mark.parametrize(("sign", "secret"), SCHEMES)
def test_a_delivery_signed_with_the_secret_verifies(sign: Signer, secret: str) -> None:
    verify_signature(BODY, sign(BODY, secret), [secret], NOW)


@pytest.mark.parametrize(("sign", "secret"), SCHEMES)
def test_a_tampered_body_is_rejected(sign: Signer, secret: str) -> None:
    headers = sign(BODY, secret)
    with pytest.raises(SignatureInvalid):
        verify_signature(BODY.replace(b"COMPLETED", b"FAILED"), headers, [secret], NOW)


@pytest.mark.parametrize(("sign", "secret"), SCHEMES)
def test_a_re_serialised_body_fails_because_only_the_raw_bytes_count(
    sign: Signer, secret: str
) -> None:
    headers = sign(BODY, secret)
    same_json = json.dumps(json.loads(BODY)).encode()  # spaces after separators
    assert same_json != BODY
    with pytest.raises(SignatureInvalid):
        verify_signature(same_json, headers, [secret], NOW)


@pytest.mark.parametrize(
    ("sign", "secret", "wrong"),
    [
        pytest.param(toss_headers, TOSS_KEY, "another-key", id="toss"),
        pytest.param(standard_headers, WHSEC, OLD_WHSEC, id="standard"),
    ],
)
def test_a_signature_made_with_another_secret_is_rejected(
    sign: Signer, secret: str, wrong: str
) -> None:
    with pytest.raises(SignatureInvalid):
        verify_signature(BODY, sign(BODY, wrong), [secret], NOW)


@pytest.mark.parametrize(("sign", "secret"), SCHEMES)
@pytest.mark.parametrize("skew", [timedelta(minutes=-6), timedelta(minutes=6)])
def test_a_timestamp_six_minutes_old_or_ahead_is_rejected(
    sign: Signer, secret: str, skew: timedelta
) -> None:
    with pytest.raises(SignatureInvalid, match="window"):
        verify_signature(BODY, sign(BODY, secret, NOW + skew), [secret], NOW)


@pytest.mark.parametrize(("sign", "secret"), SCHEMES)
@pytest.mark.parametrize("skew", [timedelta(minutes=-4), timedelta(minutes=4)])
def test_a_timestamp_four_minutes_off_is_still_accepted(
    sign: Signer, secret: str, skew: timedelta
) -> None:
    verify_signature(BODY, sign(BODY, secret, NOW + skew), [secret], NOW)


@pytest.mark.parametrize(
    ("sign", "new", "old"),
    [
        pytest.param(toss_headers, TOSS_KEY, OLD_TOSS_KEY, id="toss"),
        pytest.param(standard_headers, WHSEC, OLD_WHSEC, id="standard"),
    ],
)
def test_either_of_two_rotating_secrets_is_accepted(sign: Signer, new: str, old: str) -> None:
    verify_signature(BODY, sign(BODY, old), [new, old], NOW)
    verify_signature(BODY, sign(BODY, new), [new, old], NOW)


def test_toss_may_send_two_signatures_and_one_matching_is_enough() -> None:
    headers = toss_headers(BODY, TOSS_KEY)
    stale = sign_toss(BODY, headers["tosspayments-webhook-transmission-time"], OLD_TOSS_KEY)
    headers["tosspayments-webhook-signature"] = (
        f"{stale},{headers['tosspayments-webhook-signature']}"
    )
    verify_signature(BODY, headers, [TOSS_KEY], NOW)


def test_a_standard_header_with_several_signatures_is_accepted_when_one_matches() -> None:
    headers = standard_headers(BODY, WHSEC)
    headers["webhook-signature"] = "v1a,bm90LWVkMjU1MTk= v1,AAAA " + headers["webhook-signature"]
    verify_signature(BODY, headers, [WHSEC], NOW)


def test_the_standard_signature_covers_the_message_id() -> None:
    headers = standard_headers(BODY, WHSEC)
    headers["webhook-id"] = "msg_other"
    with pytest.raises(SignatureInvalid):
        verify_signature(BODY, headers, [WHSEC], NOW)


def test_the_toss_signature_covers_the_transmission_time() -> None:
    headers = toss_headers(BODY, TOSS_KEY)
    headers["tosspayments-webhook-transmission-time"] = (
        (NOW + timedelta(seconds=1)).astimezone(KST).isoformat(timespec="seconds")
    )
    with pytest.raises(SignatureInvalid):
        verify_signature(BODY, headers, [TOSS_KEY], NOW)


@pytest.mark.parametrize(
    "header",
    ["", "v1:", "v1:not base64!", "v2:" + base64.b64encode(b"x" * 32).decode(), "garbage"],
)
def test_a_malformed_toss_signature_header_is_rejected(header: str) -> None:
    headers = toss_headers(BODY, TOSS_KEY)
    headers["tosspayments-webhook-signature"] = header
    with pytest.raises(SignatureInvalid):
        verify_signature(BODY, headers, [TOSS_KEY], NOW)


def test_a_missing_timestamp_is_rejected() -> None:
    headers = standard_headers(BODY, WHSEC)
    del headers["webhook-timestamp"]
    with pytest.raises(SignatureInvalid):
        verify_signature(BODY, headers, [WHSEC], NOW)


def test_nothing_verifies_without_a_configured_secret() -> None:
    with pytest.raises(SignatureInvalid):
        verify_signature(BODY, toss_headers(BODY, TOSS_KEY), [], NOW)
