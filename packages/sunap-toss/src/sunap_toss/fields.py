"""Readers for the fields of Toss's JSON answers, strict where money is concerned: an amount is a
whole, non-negative number (a JSON fraction arrives as Decimal and is refused unless whole), never
a float. Anything unreadable raises `WireError`: the outcome of the call is then unknown, never a
failure. Public so that code mapping Toss's answers onto its own records reads them the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any


class WireError(ValueError):
    """A 2xx answer we cannot read: the outcome is unknown, never a failure."""


def whole(value: Any, name: str) -> int:
    """A whole, non-negative number. Rejects bool, fractions and anything that is not a number."""
    if isinstance(value, bool):
        raise WireError(f"{name} is a boolean")
    if isinstance(value, int):
        number = value
    elif isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        number = int(value)
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        number = int(value)  # Toss accepts numeric strings; tolerate them back
    else:
        raise WireError(f"{name} is not a whole number: {value!r}")
    if number < 0:
        raise WireError(f"{name} is negative")
    return number


def timestamp(value: Any, name: str) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise WireError(f"{name} is not a string")
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise WireError(f"{name} is not a timestamp: {value!r}") from exc


def json_object(value: Any, name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise WireError(f"{name} is not an object")
    return value


def json_list(value: Any, name: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise WireError(f"{name} is not a list")
    return value


def required_str(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise WireError(f"{name} is missing")
    return value


def optional_str(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool | dict | list):
        raise WireError(f"{name} is not a string")
    return str(value)
