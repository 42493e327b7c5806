"""Reading a Toss request body the way Toss does: anything malformed is 400 INVALID_REQUEST."""

from __future__ import annotations

import json
import re
from typing import Any

from sunap_toss_sandbox import choices
from sunap_toss_sandbox.catalogue import TossError

_ORDER_ID = re.compile(r"[A-Za-z0-9\-_=]{6,64}")
_CUSTOMER_KEY = re.compile(r"[A-Za-z0-9\-_=.@]{2,300}")
_DIGITS = re.compile(r"[0-9]+")


def body_object(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        parsed = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise TossError("INVALID_REQUEST") from None
    if not isinstance(parsed, dict):
        raise TossError("INVALID_REQUEST")
    return parsed


def text(body: dict[str, Any], name: str, *, max_length: int, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise TossError("INVALID_REQUEST")
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > max_length:
        raise TossError("INVALID_REQUEST")
    return value


def required_text(body: dict[str, Any], name: str, *, max_length: int) -> str:
    value = text(body, name, max_length=max_length)
    assert value is not None
    return value


def whole_number(
    body: dict[str, Any], name: str, *, minimum: int = 1, required: bool = True
) -> int | None:
    """An amount as Toss takes it: a JSON number or a numeric string (`"10000"`)."""
    value = body.get(name)
    if value is None:
        if required:
            raise TossError("INVALID_REQUEST")
        return None
    number: int
    if isinstance(value, bool):
        raise TossError("INVALID_REQUEST")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        raise TossError("INVALID_REQUEST")
    if number < minimum or number > 10**12:
        raise TossError("INVALID_REQUEST")
    return number


def amount(body: dict[str, Any], name: str = "amount") -> int:
    value = whole_number(body, name)
    assert value is not None
    return value


def order_id(body: dict[str, Any]) -> str:
    value = body.get("orderId")
    if not isinstance(value, str) or not _ORDER_ID.fullmatch(value):
        raise TossError(choices.BAD_ORDER_ID_CODE)
    return value


def is_order_id(value: str) -> bool:
    """6-64 ASCII letters, digits, `-`, `_` or `=`: no empty, no Korean, no spaces."""
    return _ORDER_ID.fullmatch(value) is not None


def customer_key(body: dict[str, Any]) -> str:
    value = body.get("customerKey")
    if value is None:
        raise TossError("INVALID_REQUEST")
    if not isinstance(value, str) or not _CUSTOMER_KEY.fullmatch(value):
        raise TossError("INVALID_CUSTOMER_KEY")
    return value


def digits(body: dict[str, Any], name: str, *, lengths: range, code: str) -> str:
    value = body.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _DIGITS.fullmatch(value) or len(value) not in lengths:
        raise TossError(code)
    return value
