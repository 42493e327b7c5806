"""Webhook signatures as a sender makes them, written apart from the code that checks them, so a
test signs the way the schemes say and not the way our verifier reads them."""

from __future__ import annotations

import base64
import hashlib
import hmac


def sign_toss(body: bytes, sent_at: str, secret: str) -> str:
    """Toss's `tosspayments-webhook-signature`: HMAC-SHA256(secret, "{rawBody}:{transmission-time}")."""
    return "v1:" + _b64_hmac(secret.encode(), body + b":" + sent_at.encode())


def sign_standard(body: bytes, message_id: str, timestamp: int, secret: str) -> str:
    """Standard Webhooks' `webhook-signature`: HMAC-SHA256 of "{id}.{timestamp}.{body}" with the
    base64 key after `whsec_`."""
    key = (
        base64.b64decode(secret.removeprefix("whsec_"))
        if secret.startswith("whsec_")
        else secret.encode()
    )
    return "v1," + _b64_hmac(key, f"{message_id}.{timestamp}.".encode() + body)


def _b64_hmac(key: bytes, message: bytes) -> str:
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
