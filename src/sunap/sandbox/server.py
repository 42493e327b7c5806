"""`sunap sandbox`: the Toss sandbox on its own port."""

from __future__ import annotations

import uvicorn

from sunap.sandbox.app import create_sandbox_app
from sunap.sandbox.auth import DOC_CLIENT_KEY, DOC_SECRET_KEY


def banner(base_url: str, webhook_url: str | None) -> str:
    webhooks = f", webhooks to {webhook_url}" if webhook_url else ", no webhooks"
    return (
        f"Toss sandbox (SANDBOX, no money moves) at {base_url} - secret key {DOC_SECRET_KEY}, "
        f"client key {DOC_CLIENT_KEY}{webhooks}"
    )


def run(host: str = "127.0.0.1", port: int = 8090, webhook_url: str | None = None) -> None:
    """Serves the sandbox until interrupted."""
    app = create_sandbox_app(webhook_url=webhook_url)
    print(banner(f"http://{host}:{port}", webhook_url), flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
