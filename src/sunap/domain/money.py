"""Money is an int in the currency's smallest unit. KRW has none: 15000 is ₩15,000."""

from __future__ import annotations

from .errors import InvalidRequest

SUPPORTED_CURRENCIES = frozenset({"KRW"})
# The largest amount the API takes (₩10,000,000,000): far above any real card or transfer
# payment, far below what a BIGINT column holds, so no sum of amounts can overflow one.
MAX_AMOUNT = 10_000_000_000


def require_amount(value: object, field: str = "amount") -> int:
    """A positive integer amount, or InvalidRequest. Rejects bool, float, str and overflow."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest(f"{field} must be a positive integer in the currency's smallest unit.")
    if value <= 0:
        raise InvalidRequest(f"{field} must be greater than zero.")
    if value > MAX_AMOUNT:
        raise InvalidRequest(f"{field} must not exceed {MAX_AMOUNT}.")
    return value


def require_tax_free_amount(value: object, field: str = "taxFreeAmount") -> int:
    """The part of an amount that is tax-free: an integer from 0 to MAX_AMOUNT."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest(f"{field} must be an integer in the currency's smallest unit.")
    if not 0 <= value <= MAX_AMOUNT:
        raise InvalidRequest(f"{field} must be between 0 and {MAX_AMOUNT}.")
    return value


def require_currency(value: object) -> str:
    if value not in SUPPORTED_CURRENCIES:
        raise InvalidRequest(f"currency must be one of {sorted(SUPPORTED_CURRENCIES)}.")
    assert isinstance(value, str)
    return value
