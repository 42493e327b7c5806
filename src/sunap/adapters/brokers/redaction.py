"""Broker URLs carry passwords: show them to people only with the password masked."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit, urlunsplit

MASK = "***"


def redact_url(url: str) -> str:
    """The URL with its password (if any) replaced by `***`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, hostinfo = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{hostinfo}"))


def scrub(text: str, url: str) -> str:
    """`text` (an error message, say) with the URL's password masked wherever it appears."""
    password = urlsplit(url).password
    if not password:
        return text
    for secret in {password, unquote(password)}:
        text = text.replace(secret, MASK)
    return text


def describe_failure(exc: BaseException, url: str) -> str:
    """A short account of what went wrong for an error message, with no password in it."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return scrub(f"{type(exc).__name__}: {exc}", url)
