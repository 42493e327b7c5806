"""The Toss sandbox on a real loopback port, for tests that talk to Toss over HTTP.

    with running_sandbox() as base_url:
        httpx.post(f"{base_url}/v1/payments/confirm", auth=(SANDBOX_SECRET_KEY, ""), json=...)

Each call starts a fresh sandbox (its own state) with uvicorn in a background thread and stops it
cleanly on exit. `webhook_time_scale` compresses Toss's retry schedule (1/60: a minute lasts 1 s).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp

from sunap.sandbox.app import create_sandbox_app

SANDBOX_SECRET_KEY = "test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R"  # Toss's public doc key
SANDBOX_CLIENT_KEY = "test_ck_D5GePWvyJnrK0W0k6q8gLzN97Eoq"
_START_TIMEOUT_SECONDS = 10.0


@contextmanager
def running_sandbox(
    webhook_url: str | None = None, webhook_time_scale: float = 1.0
) -> Iterator[str]:
    """Yields the base URL (`http://127.0.0.1:PORT`) of a sandbox running until the block ends."""
    app = create_sandbox_app(webhook_url=webhook_url, webhook_time_scale=webhook_time_scale)
    with serving(app) as base_url:
        yield base_url


def loopback_listener() -> socket.socket:
    """A socket bound to a free loopback port, for an app that must know its URL before it runs."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    return listener


@contextmanager
def serving(app: ASGIApp, listener: socket.socket | None = None) -> Iterator[str]:
    """Serves any ASGI app with uvicorn on a free loopback port (or `listener`'s) in a
    background thread."""
    listener = listener or loopback_listener()
    port = listener.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="critical", lifespan="on", timeout_graceful_shutdown=5)
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name=f"asgi-{port}", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=_START_TIMEOUT_SECONDS)
        listener.close()
