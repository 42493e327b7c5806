"""The Toss sandbox on a real loopback port, for tests that talk to Toss over HTTP.

    with running_sandbox() as base_url:
        httpx.post(f"{base_url}/v1/payments/confirm", auth=(SANDBOX_SECRET_KEY, ""), json=...)

The helpers live in the sandbox package (`sunap_toss_sandbox.testing`), beside its pytest plugin.
"""

from __future__ import annotations

from sunap_toss_sandbox.auth import DOC_CLIENT_KEY, DOC_SECRET_KEY
from sunap_toss_sandbox.testing import running_sandbox, serving

SANDBOX_SECRET_KEY = DOC_SECRET_KEY  # Toss's public doc key
SANDBOX_CLIENT_KEY = DOC_CLIENT_KEY

__all__ = ["SANDBOX_CLIENT_KEY", "SANDBOX_SECRET_KEY", "running_sandbox", "serving"]
