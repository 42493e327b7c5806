"""Signed, expiring links to the hosted checkout page.

Whoever holds a link may open that payment's page and bring the payment window back to Sunap: the
link is the customer's only credential. A token is `{expiry}.{mac}`, the mac an HMAC-SHA256 over
the payment's id, orderId and amount and the expiry, under a key only the service knows (derived
from its secrets key). So a token cannot be moved to another payment, outlive its expiry, or
survive a change of amount; and it holds nothing a reader could learn from.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sunap.domain.payment import Payment

VERSION = b"sunap-checkout-v1"
DEFAULT_TTL = timedelta(hours=1)
MAX_TOKEN_LENGTH = 128


class LinkCheck(enum.Enum):
    VALID = "valid"
    EXPIRED = "expired"  # ours, but too old: the customer needs a fresh link from the merchant
    INVALID = "invalid"  # not a token we made for this payment


@dataclass(frozen=True)
class CheckoutLinks:
    key: bytes = field(repr=False)
    ttl: timedelta = DEFAULT_TTL

    def token(self, payment: Payment, now: datetime) -> str:
        expires = int((now + self.ttl).timestamp())
        return f"{expires}.{self._mac(payment, expires)}"

    def check(self, token: str | None, payment: Payment, now: datetime) -> LinkCheck:
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return LinkCheck.INVALID
        expires_text, _, mac = token.partition(".")
        if not expires_text.isascii() or not expires_text.isdigit() or len(expires_text) > 12:
            return LinkCheck.INVALID
        expires = int(expires_text)
        if not hmac.compare_digest(mac.encode(), self._mac(payment, expires).encode()):
            return LinkCheck.INVALID
        if datetime.fromtimestamp(expires, UTC) <= now:
            return LinkCheck.EXPIRED
        return LinkCheck.VALID

    def _mac(self, payment: Payment, expires: int) -> str:
        message = b"\x00".join(
            (
                VERSION,
                payment.id.encode(),
                payment.order_id.encode(),
                str(payment.amount).encode(),
                str(expires).encode(),
            )
        )
        digest = hmac.new(self.key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")
