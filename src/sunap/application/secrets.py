"""The secret box port: credentials Sunap must keep (a tenant's Toss secret key, a Toss billing
key) are stored sealed and opened only in memory, right before they are used."""

from __future__ import annotations

from typing import Protocol


class SecretsUnavailable(Exception):
    """No key to seal secrets with is configured: refuse to store a credential rather than keep
    it in the clear."""


class SecretBox(Protocol):
    def seal(self, plaintext: str) -> bytes: ...

    def open(self, sealed: bytes) -> str:
        """Raises SecretsUnavailable when no configured key opens it (a rotated-out key)."""
        ...

    def derive_key(self, purpose: str) -> bytes:
        """A 32-byte key for one purpose (e.g. signing checkout links), derived from the master
        key, so that one secret setting is enough and no purpose reuses another's key."""
        ...


class NoSecretBox:
    """What runs when no key is configured: reads and writes of credentials are refused."""

    def __init__(self, reason: str) -> None:
        self._reason = reason

    def seal(self, plaintext: str) -> bytes:
        raise SecretsUnavailable(self._reason)

    def open(self, sealed: bytes) -> str:
        raise SecretsUnavailable(self._reason)

    def derive_key(self, purpose: str) -> bytes:
        raise SecretsUnavailable(self._reason)
