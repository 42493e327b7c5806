"""What of a Toss webhook delivery is kept at rest.

A delivery is stored before it is answered, and kept until it is pruned. What it carries that
could be used against a customer or the merchant never reaches the disk as it arrived:
- a virtual account's `secret` (anyone holding it could forge a deposit callback) becomes its
  sha256 digest, which is all the processor needs to compare it with the PG's; so does a
  `billingKey` (a credential that charges a card), which the processor finds by its digest;
- refund accounts and card numbers are masked;
- an event type Sunap does not act on is kept as its type, id and size only;
- a delivery that named no payment of ours, or that the PG disowned, is cut down to what is read
  of it once processed (`trimmed_body`): anyone may send one, with no key, near the size limit.
The signature, when there is one, was checked on the raw bytes before anything is stored.
"""

from __future__ import annotations

import json
from typing import Any

from sunap.application.adopt import secret_digest

DIGEST_PREFIX = "sha256:"
DIGESTED_FIELDS = frozenset({"secret", "billingKey"})
MASKED_OBJECTS = frozenset({"refundReceiveAccount", "refundAccount"})
MASKED_FIELDS = frozenset({"cardNumber", "accountNumber", "holderName", "customerIdentityNumber"})


def stored_secret_digest(value: str) -> str:
    """The digest of a `secret` as stored: masked deliveries keep `sha256:<hex>`; deliveries
    stored before masking existed keep the secret itself."""
    if value.startswith(DIGEST_PREFIX):
        return value[len(DIGEST_PREFIX) :]
    return secret_digest(value)


def masked_body(body: dict[str, Any]) -> bytes:
    """The delivery as it is kept: the same JSON, its secrets digested and its accounts masked."""
    return json.dumps(_mask(body, inside_account=False), ensure_ascii=False).encode()


def summary_body(event_type: str, body: dict[str, Any], size: int) -> bytes:
    """An event type we do not act on: only what says that it came."""
    event_id = body.get("eventId")
    summary = {
        "eventType": event_type,
        "eventId": event_id if isinstance(event_id, str) and len(event_id) <= 200 else None,
        "size": size,
    }
    return json.dumps(summary).encode()


# What `_notice` reads of a delivery (top level, and in `data`): all a trimmed body keeps.
READ_FIELDS = frozenset(
    {
        "eventType",
        "eventId",
        "createdAt",
        "paymentKey",
        "orderId",
        "status",
        "transactionKey",
        "lastTransactionKey",
        "secret",
        "billingKey",
    }
)


def trimmed_body(kept: dict[str, Any], size: int) -> bytes:
    """A kept delivery cut down to what is read of it, and the size it had: it still reads as
    the same notice (a replay works), and whatever else it carried is not kept for months."""
    trimmed = {k: v for k, v in kept.items() if k in READ_FIELDS and not isinstance(v, dict)}
    data = kept.get("data")
    if isinstance(data, dict):
        trimmed["data"] = {
            k: v for k, v in data.items() if k in READ_FIELDS and not isinstance(v, (dict, list))
        }
    trimmed["trimmedFrom"] = size
    return json.dumps(trimmed, ensure_ascii=False).encode()


def _mask(value: Any, *, inside_account: bool) -> Any:
    if isinstance(value, dict):
        masked: dict[str, Any] = {}
        for key, item in value.items():
            if key in DIGESTED_FIELDS and isinstance(item, str):
                # Always the digest of what arrived: a sender cannot pass a digest off as one.
                masked[key] = DIGEST_PREFIX + secret_digest(item)
            elif isinstance(item, str) and (
                key in MASKED_FIELDS and (inside_account or key == "cardNumber")
            ):
                masked[key] = _masked(item)
            else:
                masked[key] = _mask(item, inside_account=inside_account or key in MASKED_OBJECTS)
        return masked
    if isinstance(value, list):
        return [_mask(item, inside_account=inside_account) for item in value]
    return value


def _masked(text: str) -> str:
    """Enough to recognise it by (the last few characters), never enough to use it."""
    keep = 4 if len(text) > 8 else 0
    return "*" * (len(text) - keep) + text[len(text) - keep :]
