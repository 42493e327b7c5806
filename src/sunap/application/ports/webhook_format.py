"""The port to a PG's webhooks: what a delivery says, in our words, and how it is signed and kept.

The intake and the processor decide what to do with a delivery; the PG's adapter knows its wire
format: header names and signature schemes, the JSON shapes of its events, which fields are
secrets to digest or accounts to mask before a delivery is stored. A delivery is read twice: as
it arrives (`read`), and later from the inbox as it was kept (`read_kept`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


class NoticeKind(enum.Enum):
    """What a delivery asks of us; the PG's own name for it is `WebhookNotice.event_type`."""

    PAYMENT_CHANGED = "payment_changed"  # a payment's status changed: look it up by its key
    CANCEL_CHANGED = "cancel_changed"  # a cancel's status changed: likewise
    DEPOSIT = "deposit"  # money reached a virtual account: names an order, carries its secret
    BILLING_KEY_DELETED = "billing_key_deleted"
    OTHER = "other"  # recorded, not acted on


@dataclass(frozen=True)
class WebhookNotice:
    """A delivery whose shape the adapter checked. Nothing here is trusted for money: the
    processor asks the PG before applying anything."""

    event_type: str  # as the PG names it; audit rows and the inbox keep this name
    kind: NoticeKind
    content_key: str  # the same change delivered twice maps to one key (within one account)
    payment_key: str | None = None
    order_id: str | None = None
    reported_status: str | None = None
    transaction_key: str | None = None
    secret_digest: str | None = None  # DEPOSIT: the digest of the secret it carries
    billing_key_digest: str | None = None  # BILLING_KEY_DELETED: the digest of the deleted key
    signed_by_pg: bool = False  # the PG signs this event type: unsigned, it is forged
    # The adapter's own parse, for `kept_body`; no one else reads it.
    parsed: Any = field(default=None, compare=False, repr=False)


class WebhookMalformed(ValueError):
    """The body is not a delivery of a shape we know; the message says why, fit for the sender."""


class SignatureInvalid(Exception):
    """The delivery claims a signature we cannot verify: reject it, apply nothing."""


class WebhookFormat(Protocol):
    def is_signed(self, headers: Mapping[str, str]) -> bool:
        """Whether the delivery carries a signature (header names lower-case)."""
        ...

    def verify(
        self, body: bytes, headers: Mapping[str, str], secrets: Sequence[str], now: datetime
    ) -> None:
        """Raise SignatureInvalid unless a signature over the raw bytes verifies with one of
        `secrets` and was made near `now`."""
        ...

    def read(self, body: bytes, headers: Mapping[str, str]) -> WebhookNotice:
        """A delivery as it arrived; raises WebhookMalformed."""
        ...

    def read_kept(self, body: bytes) -> WebhookNotice:
        """A delivery as `kept_body` stored it; raises WebhookMalformed."""
        ...

    def kept_body(self, notice: WebhookNotice, size: int) -> bytes:
        """What is stored of a delivery read by `read` (`size`: its length as received):
        secrets digested and accounts masked; of an event not acted on, only what says it
        came."""
        ...

    def trimmed_body(self, kept: bytes) -> bytes:
        """A kept body cut down to what `read_kept` reads, and its size: for a delivery that
        named nothing of ours, which anyone may send, unauthenticated, near the size limit."""
        ...

    def kept_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """The headers worth keeping with a stored delivery."""
        ...
