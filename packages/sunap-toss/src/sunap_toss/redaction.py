"""What of a Toss request or answer may be kept in the audit trail and the logs.

Fields that are credentials or personal data are replaced by name; card-number-like digit runs,
e-mail addresses and phone numbers are masked wherever they appear in a string, because Toss
echoes user input in places we don't know about. Numbers that JSON gave us as Decimal become
int (or str when not whole) so the exchange stays JSON-serialisable and float-free.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

MASK = "[REDACTED]"

# Always masked, wherever they appear.
_SECRET_FIELDS = frozenset(
    {
        "secret",
        "billingKey",
        "authKey",
        "customerKey",
        "cardNumber",
        "cardPassword",
        "customerIdentityNumber",
        "registrationNumber",
        "customerEmail",
        "customerMobilePhone",
        "bankAccountNumber",
    }
)
# Masked inside a refund account: whose money goes where.
_REFUND_ACCOUNT_FIELDS = frozenset({"accountNumber", "holderName"})
_SECRET_IN_REFUND_ACCOUNT = _SECRET_FIELDS | _REFUND_ACCOUNT_FIELDS

# 13–19 digits, optionally grouped by spaces or dashes, not part of a longer token.
_CARD_NUMBER = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w-])(?:\+82[ -]?|0)1[016789][ -]?\d{3,4}[ -]?\d{4}(?![\w-])")


# What each pattern above needs at least: an "@", or ten digits apart at most by single spaces or
# dashes (a phone number has 10 or more, a card number 13 or more). One scan of a string for
# this spares most strings three.
_MAYBE_MASKED = re.compile(r"@|\d(?:[ -]?\d){9}")


def redact_text(text: str) -> str:
    if _MAYBE_MASKED.search(text) is None:
        return text
    text = _CARD_NUMBER.sub(MASK, text)
    text = _EMAIL.sub(MASK, text)
    return _PHONE.sub(MASK, text)


def redact(value: Any, *, _field: str | None = None) -> Any:
    """A deep copy of `value` that is safe to store and log."""
    if isinstance(value, dict):
        return _redact_object(value, in_refund_account=_field == "refundReceiveAccount")
    if isinstance(value, list | tuple):
        return [redact(item, _field=_field) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    return value


def _redact_object(value: dict[Any, Any], *, in_refund_account: bool) -> dict[Any, Any]:
    # Every Toss answer kept for the audit trail comes through here: a field's common kinds
    # (null, a string, a whole number, true/false) are handled in the loop, not by a call each.
    kept: dict[Any, Any] = {}
    secret = _SECRET_IN_REFUND_ACCOUNT if in_refund_account else _SECRET_FIELDS
    for key, item in value.items():
        if item is None:
            kept[key] = None
        elif key in secret:
            kept[key] = MASK
        elif type(item) is str:
            kept[key] = redact_text(item)
        elif type(item) is int or type(item) is bool:
            kept[key] = item
        else:
            kept[key] = redact(item, _field=key)
    return kept
