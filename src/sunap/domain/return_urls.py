"""Where the payment window sends the customer back: `successUrl` and `failUrl`.

Only an absolute http or https URL with a host is taken. Anything else would let a payment send
its customer somewhere no merchant meant: `javascript:` runs script in the customer's browser,
and `//evil.example` or `/\\evil.example` leave the site while looking like a path.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from .errors import InvalidRequest

MAX_URL_LENGTH = 2048
SCHEMES = frozenset({"http", "https"})


def is_return_url(url: str) -> bool:
    if len(url) > MAX_URL_LENGTH or any(c.isspace() or not c.isprintable() for c in url):
        return False
    if "\\" in url:  # browsers read a backslash as a slash: `https:\\evil.example`
        return False
    try:
        parts = urlsplit(url)
        _ = parts.port  # a malformed port raises ValueError
    except ValueError:
        return False
    return parts.scheme.lower() in SCHEMES and bool(parts.hostname)


def require_return_url(value: str | None, field: str) -> str | None:
    """The URL as given, or InvalidRequest; None stays None (the field is optional)."""
    if value is not None and not is_return_url(value):
        raise InvalidRequest(f"{field} must be an absolute http or https URL with a host.")
    return value
