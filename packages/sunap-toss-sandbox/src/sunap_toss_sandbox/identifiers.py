"""The shapes of Toss's generated identifiers, made fresh for each use."""

from __future__ import annotations

import secrets
import string

_ALNUM = string.ascii_letters + string.digits


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def payment_key() -> str:
    # The long 48-character form; random enough that two sandboxes never collide.
    return _random(_ALNUM, 48)


def transaction_key() -> str:
    return secrets.token_hex(16).upper()


def trace_id() -> str:
    return secrets.token_hex(16)


def deposit_secret() -> str:
    return "ps_" + _random(_ALNUM, 32)


def billing_key() -> str:
    return secrets.token_urlsafe(32)[:43] + "="


def auth_key() -> str:
    return "bln_" + _random(_ALNUM, 40)


def transmission_id() -> str:
    return "whtrans_" + _random(string.ascii_lowercase + string.digits, 27)


def test_account_number() -> str:
    # Test-mode virtual accounts start with X (docs/toss.md, Test mode).
    return "X" + _random(string.digits, 13)


def approve_number() -> str:
    return _random(string.digits, 8)


def client_key(prefix: str) -> str:
    # The shape of Toss's public doc client key: the prefix, then 28 letters and digits.
    return prefix + _random(_ALNUM, 28)
