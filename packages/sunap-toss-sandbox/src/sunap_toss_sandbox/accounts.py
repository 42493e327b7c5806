"""Toss merchant accounts: each registered test secret key keeps books of its own.

Toss knows payments, orders and billing keys per merchant account (one secret key, its client
key, its webhook URL), so two accounts may each hold the same orderId. A key registered with
`POST /sandbox/accounts` gets its own `Merchant`; every other test key shares the default books,
as all keys did before accounts existed (`choices.UNREGISTERED_KEYS_SHARE_DEFAULT_BOOKS`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sunap_toss_sandbox import choices, identifiers
from sunap_toss_sandbox.auth import (
    DOC_CLIENT_KEY,
    TEST_KEY_PREFIXES,
    client_key_prefix,
    is_test_secret_key,
    secret_key_from,
)
from sunap_toss_sandbox.catalogue import TossError
from sunap_toss_sandbox.clock import SandboxClock
from sunap_toss_sandbox.merchant import Merchant
from sunap_toss_sandbox.webhooks import WebhookSender

# How the default books are named in the calls and webhooks logs.
DEFAULT_ACCOUNT = "default"
MAX_URL_LENGTH = 2000
_HINT_LENGTH = 4


class AccountSpecError(ValueError):
    """A /sandbox/accounts body that does not describe an account, as a Toss code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class AccountSpec:
    secret_key: str = field(repr=False)
    client_key: str | None  # None: keep the account's client key, or make one up
    webhook_url: str | None  # None: the sandbox's own webhook URL

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> AccountSpec:
        secret_key = body.get("secretKey")
        # The same rule as the API's Basic auth; a colon could never reach it in the header.
        if not isinstance(secret_key, str) or not is_test_secret_key(secret_key):
            raise AccountSpecError(
                "INVALID_API_KEY", "secretKey must be a test secret key (test_sk_… or test_gsk_…)"
            )
        if ":" in secret_key:
            raise AccountSpecError("INVALID_API_KEY", "secretKey cannot hold a colon")
        return cls(
            secret_key=secret_key,
            client_key=_client_key(body.get("clientKey"), secret_key),
            webhook_url=_webhook_url(body.get("webhookUrl")),
        )


def _client_key(value: Any, secret_key: str) -> str | None:
    if value is None:
        return None
    prefix = client_key_prefix(secret_key)
    if not isinstance(value, str) or not value.startswith(prefix) or len(value) <= len(prefix):
        # Toss refuses a client key from another key set than its secret key (INVALID_API_KEY).
        raise AccountSpecError(
            "INVALID_API_KEY", f"clientKey must be a test client key of the same set ({prefix}…)"
        )
    return value


def is_webhook_url(value: str) -> bool:
    """An absolute http(s) URL with a host, as webhooks can be sent to (an account's, or the
    sandbox's own `--webhook-url`)."""
    if len(value) > MAX_URL_LENGTH:
        return False
    try:
        parts = urlsplit(value)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False


def _webhook_url(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and is_webhook_url(value):
        return value
    raise AccountSpecError("INVALID_REQUEST", "webhookUrl must be an http:// or https:// URL")


def secret_key_hint(secret_key: str) -> str:
    """The key's set and its last characters: never more than half of what follows the prefix."""
    prefix = next(prefix for prefix in TEST_KEY_PREFIXES if secret_key.startswith(prefix))
    rest = secret_key[len(prefix) :]
    shown = min(_HINT_LENGTH, len(rest) // 2)
    return f"{prefix}…{rest[len(rest) - shown :]}"


class Account:
    """One merchant account: its keys, where its webhooks go, and its books."""

    def __init__(
        self,
        clock: SandboxClock,
        webhooks: WebhookSender,
        secret_key: str | None = None,
    ) -> None:
        self.secret_key = secret_key  # None for the default books
        self.client_key: str | None = None
        self.webhook_url: str | None = None  # None: the sandbox's own webhook URL
        self._webhooks = webhooks
        self.merchant = Merchant(clock, self._notify)

    def __repr__(self) -> str:  # never the secret key
        return f"Account({self.name!r})"

    @property
    def name(self) -> str:
        return self.client_key or DEFAULT_ACCOUNT

    def to_json(self) -> dict[str, Any]:
        return {
            "clientKey": self.client_key,
            "webhookUrl": self.webhook_url,
            "secretKeyHint": secret_key_hint(self.secret_key) if self.secret_key else None,
        }

    def _notify(self, event_type: str, body: dict[str, Any]) -> None:
        # Read at each event, so a re-registration sends the account's later webhooks elsewhere.
        self._webhooks.enqueue(event_type, body, account=self.name, url=self.webhook_url)


class Accounts:
    """The default books and every registered account, found by secret key or client key."""

    def __init__(self, clock: SandboxClock, webhooks: WebhookSender) -> None:
        self._clock = clock
        self._webhooks = webhooks
        self.default = Account(clock, webhooks)
        self._registered: dict[str, Account] = {}  # by secret key
        # Secret keys the host process registered (ensure_registered): kept across a reset.
        self._kept: set[str] = set()

    def register(self, spec: AccountSpec) -> Account:
        """A new account with empty books, or the known one with its keys and URL updated."""
        account = self._registered.get(spec.secret_key)
        client_key = (
            spec.client_key
            or (account.client_key if account is not None else None)
            or identifiers.client_key(client_key_prefix(spec.secret_key))
        )
        holder = self._by_client_key(client_key)
        if holder is not None and holder is not account:
            raise AccountSpecError("INVALID_REQUEST", "clientKey belongs to another account")
        if account is None:
            account = Account(self._clock, self._webhooks, spec.secret_key)
            self._registered[spec.secret_key] = account
        account.client_key = client_key
        account.webhook_url = spec.webhook_url
        return account

    def ensure_registered(self, spec: AccountSpec) -> Account:
        """The account of `spec.secret_key`, registered with `spec` only if it was not already
        (its client key and webhook URL, set by hand, are kept). A reset empties its books but
        keeps the account: the host relies on the key never reaching the default books."""
        account = self._registered.get(spec.secret_key) or self.register(spec)
        self._kept.add(spec.secret_key)
        return account

    def registered(self) -> list[Account]:
        return list(self._registered.values())

    def for_secret_key(self, secret_key: str) -> Account:
        account = self._registered.get(secret_key)
        if account is not None:
            return account
        if not choices.UNREGISTERED_KEYS_SHARE_DEFAULT_BOOKS:
            raise TossError("UNAUTHORIZED_KEY")
        return self.default

    def for_client_key(self, client_key: str) -> Account:
        account = self._by_client_key(client_key)
        if account is not None:
            return account
        if client_key == DOC_CLIENT_KEY:  # the key the banner prints goes with the default books
            return self.default
        raise TossError("UNAUTHORIZED_KEY")

    def select(self, authorization: str | None, client_key: str | None = None) -> Account:
        """The books a control-plane call works on: the account of `client_key` if one is given
        (what a payment window page has), else that of the Authorization header's secret key,
        else the default books. An unknown client key or a bad header is a TossError."""
        if client_key:
            return self.for_client_key(client_key)
        if authorization is None:
            return self.default
        return self.for_secret_key(secret_key_from(authorization))

    def tick(self) -> None:
        for account in (self.default, *self._registered.values()):
            account.merchant.tick()

    def reset(self) -> None:
        """Every account is forgotten but those the host ensured, whose books are emptied."""
        self.default.merchant.reset()
        self._registered = {
            key: account for key, account in self._registered.items() if key in self._kept
        }
        for account in self._registered.values():
            account.merchant.reset()

    def _by_client_key(self, client_key: str) -> Account | None:
        return next(
            (account for account in self._registered.values() if account.client_key == client_key),
            None,
        )
