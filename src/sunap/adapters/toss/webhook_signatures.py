"""Signed webhooks: Toss's `tosspayments-webhook-signature` and Standard Webhooks' `webhook-signature`.

Toss signs only `payout.changed`/`seller.changed` (docs/toss.md, Webhooks); payment webhooks carry no signature
and are verified by re-fetching the payment instead. Both schemes are checked over the raw bytes as
received (a re-serialised body fails), in constant time, against every configured secret (two
while one is being rotated), and only within a window around the sender's clock.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from sunap.application.ports.webhook_format import SignatureInvalid

TOSS_SIGNATURE = "tosspayments-webhook-signature"
TOSS_TRANSMISSION_TIME = "tosspayments-webhook-transmission-time"
STANDARD_SIGNATURE = "webhook-signature"
STANDARD_ID = "webhook-id"
STANDARD_TIMESTAMP = "webhook-timestamp"

TOLERANCE = timedelta(minutes=5)


def is_signed(headers: Mapping[str, str]) -> bool:
    return TOSS_SIGNATURE in headers or STANDARD_SIGNATURE in headers


def verify_signature(
    body: bytes,
    headers: Mapping[str, str],
    secrets: Sequence[str],
    now: datetime,
    tolerance: timedelta = TOLERANCE,
) -> None:
    """Raise SignatureInvalid unless a signature header is present and verifies. `headers` have
    lower-case names."""
    if not secrets:
        raise SignatureInvalid("No webhook secret is configured to verify signatures with.")
    if TOSS_SIGNATURE in headers:
        verify_toss(body, headers, secrets, now, tolerance)
    elif STANDARD_SIGNATURE in headers:
        verify_standard(body, headers, secrets, now, tolerance)
    else:
        raise SignatureInvalid("The delivery carries no signature.")


def verify_toss(
    body: bytes,
    headers: Mapping[str, str],
    secrets: Sequence[str],
    now: datetime,
    tolerance: timedelta = TOLERANCE,
) -> None:
    """HMAC-SHA256(secret, "{rawBody}:{transmission-time}"), header `v1:<b64>,v1:<b64>`."""
    sent_at = headers.get(TOSS_TRANSMISSION_TIME)
    if not sent_at:
        raise SignatureInvalid(f"{TOSS_TRANSMISSION_TIME} is missing.")
    try:
        when = datetime.fromisoformat(sent_at)
    except ValueError as error:
        raise SignatureInvalid(f"{TOSS_TRANSMISSION_TIME} is not a time.") from error
    if when.tzinfo is None:
        raise SignatureInvalid(f"{TOSS_TRANSMISSION_TIME} has no offset.")
    _check_window(when, now, tolerance)
    offered = _signatures(headers[TOSS_SIGNATURE], separator=",", version_mark=":")
    signed = body + b":" + sent_at.encode()
    keys = [s.encode() for s in secrets]
    _match_any(signed, keys, offered)


def verify_standard(
    body: bytes,
    headers: Mapping[str, str],
    secrets: Sequence[str],
    now: datetime,
    tolerance: timedelta = TOLERANCE,
) -> None:
    """Standard Webhooks v1: HMAC-SHA256(key, "{id}.{timestamp}.{body}"), header `v1,<b64> …`."""
    message_id = headers.get(STANDARD_ID)
    timestamp = headers.get(STANDARD_TIMESTAMP)
    if not message_id or not timestamp:
        raise SignatureInvalid(f"{STANDARD_ID} and {STANDARD_TIMESTAMP} are required.")
    _check_window(_unix_time(timestamp), now, tolerance)
    offered = _signatures(headers[STANDARD_SIGNATURE], separator=" ", version_mark=",")
    signed = f"{message_id}.{timestamp}.".encode() + body
    _match_any(signed, [standard_key(s) for s in secrets], offered)


def standard_key(secret: str) -> bytes:
    """`whsec_<base64>` is decoded as the spec says; anything else is used as its UTF-8 bytes."""
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except binascii.Error:
            pass
    return secret.encode()


def _unix_time(timestamp: str) -> datetime:
    """The header's seconds since the epoch as a time; anything else (signs, spaces, digits of
    other scripts, a number past year 9999) is refused, never an error of ours."""
    if not (timestamp.isascii() and timestamp.isdigit()):
        raise SignatureInvalid(f"{STANDARD_TIMESTAMP} is not a unix time.")
    try:
        return datetime.fromtimestamp(int(timestamp), UTC)
    except (OverflowError, OSError, ValueError) as error:
        raise SignatureInvalid(f"{STANDARD_TIMESTAMP} is not a unix time.") from error


def _check_window(when: datetime, now: datetime, tolerance: timedelta) -> None:
    if abs(now - when) > tolerance:
        raise SignatureInvalid("The signature's timestamp is outside the accepted window.")


def _signatures(header: str, *, separator: str, version_mark: str) -> list[bytes]:
    """The decoded `v1` signatures of a header; other versions (e.g. `v1a`) are skipped."""
    found = []
    for part in header.split(separator):
        version, mark, value = part.strip().partition(version_mark)
        if not mark or version != "v1":
            continue
        try:
            found.append(base64.b64decode(value, validate=True))
        except binascii.Error:
            continue
    if not found:
        raise SignatureInvalid("The signature header holds no v1 signature.")
    return found


def _match_any(signed: bytes, keys: Sequence[bytes], offered: Sequence[bytes]) -> None:
    expected = [hmac.new(key, signed, hashlib.sha256).digest() for key in keys]
    # Compare every pair, so the time taken says nothing about which one matched.
    matched = False
    for mine in expected:
        for theirs in offered:
            matched |= hmac.compare_digest(mine, theirs)
    if not matched:
        raise SignatureInvalid("No signature matches.")
