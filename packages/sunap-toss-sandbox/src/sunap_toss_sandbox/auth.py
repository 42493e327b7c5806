"""Toss's Basic auth: `Authorization: Basic base64("{secretKey}:")`; only test keys get in."""

from __future__ import annotations

import base64
import binascii

from sunap_toss_sandbox import choices
from sunap_toss_sandbox.catalogue import TossError

TEST_KEY_PREFIXES = ("test_sk_", "test_gsk_")
# Each secret key family has its client key family; Toss refuses a pair from different sets.
CLIENT_KEY_PREFIX_OF = {"test_sk_": "test_ck_", "test_gsk_": "test_gck_"}
# The public keys printed in Toss's docs: not secrets, anyone may use them against test mode.
DOC_SECRET_KEY = "test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R"  # noqa: S105
DOC_CLIENT_KEY = "test_ck_D5GePWvyJnrK0W0k6q8gLzN97Eoq"
DOC_WIDGET_SECRET_KEY = "test_gsk_docs_OaPz8L5KdmQXkzRz3y47BMw6"  # noqa: S105


def secret_key_from(header: str | None) -> str:
    """The secret key in an Authorization header, or the TossError Toss would answer."""
    if not header:
        raise TossError(choices.MISSING_AUTH_CODE)
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        raise TossError("UNAUTHORIZED_KEY")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise TossError("UNAUTHORIZED_KEY") from None
    if ":" not in decoded:
        raise TossError("INCORRECT_BASIC_AUTH_FORMAT")
    key = decoded.partition(":")[0]
    if not is_test_secret_key(key):
        raise TossError("UNAUTHORIZED_KEY")
    return key


def is_test_secret_key(key: str) -> bool:
    # A live key, a client key, or a BOM-prefixed key is not a test secret key.
    return key.startswith(TEST_KEY_PREFIXES) and len(key) > len("test_gsk_")


def client_key_prefix(secret_key: str) -> str:
    """The prefix of the client keys that pair with a test secret key."""
    return next(
        client for secret, client in CLIENT_KEY_PREFIX_OF.items() if secret_key.startswith(secret)
    )
