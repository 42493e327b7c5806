"""The Toss sandbox on a real loopback port, for tests that talk to Toss over HTTP.

    with running_sandbox() as base_url:
        httpx.post(f"{base_url}/v1/payments/confirm", auth=(SANDBOX_SECRET_KEY, ""), json=...)

The helpers live in the sandbox package (`sunap_toss_sandbox.testing`), beside its pytest plugin.
Toss's one-second cancel rule is off here unless a test asks for it: these sandboxes serve tests of
other behaviours, which cancel back to back. The rule has tests of its own (tests/sandbox), and
the sandbox `sunap serve` embeds keeps it on (`SANDBOX_CONSECUTIVE_CANCEL_WINDOW_SECONDS`), so
Sunap's own cancels are tested against it end to end.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sunap_toss_sandbox import testing
from sunap_toss_sandbox.auth import DOC_CLIENT_KEY, DOC_SECRET_KEY
from sunap_toss_sandbox.testing import loopback_listener, serving

SANDBOX_SECRET_KEY = DOC_SECRET_KEY  # Toss's public doc key
SANDBOX_CLIENT_KEY = DOC_CLIENT_KEY

__all__ = [
    "SANDBOX_CLIENT_KEY",
    "SANDBOX_SECRET_KEY",
    "loopback_listener",
    "running_sandbox",
    "serving",
]


@contextmanager
def running_sandbox(
    webhook_url: str | None = None, webhook_time_scale: float = 1.0, **options: Any
) -> Iterator[str]:
    """Yields the base URL of a fresh sandbox running until the block ends."""
    options.setdefault("consecutive_cancel_window_seconds", 0.0)
    with testing.running_sandbox(webhook_url, webhook_time_scale, **options) as base_url:
        yield base_url
