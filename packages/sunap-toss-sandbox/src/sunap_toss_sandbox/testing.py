"""A sandbox on a real loopback port for tests, and a handle on its control plane.

    with running_sandbox() as base_url:
        httpx.post(f"{base_url}/v1/payments/confirm", auth=(DOC_SECRET_KEY, ""), json=...)

Each `running_sandbox` starts a fresh sandbox (its own state) with uvicorn in a background thread
and stops it cleanly on exit. The pytest plugin (`sunap_toss_sandbox.plugin`) builds on it.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn
from starlette.types import ASGIApp

from sunap_toss_sandbox.app import create_sandbox_app
from sunap_toss_sandbox.auth import DOC_CLIENT_KEY, DOC_SECRET_KEY

_START_TIMEOUT_SECONDS = 10.0


@contextmanager
def running_sandbox(
    webhook_url: str | None = None,
    webhook_time_scale: float = 1.0,
    **options: Any,
) -> Iterator[str]:
    """Yields the base URL (`http://127.0.0.1:PORT`) of a sandbox running until the block ends.
    `options` go to `create_sandbox_app` (`consecutive_cancel_window_seconds`,
    `rate_limit_per_minute`)."""
    app = create_sandbox_app(
        webhook_url=webhook_url, webhook_time_scale=webhook_time_scale, **options
    )
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


class TossSandbox:
    """A running sandbox: its `url`, the keys it accepts, and its control plane as methods.

    Every method raises `httpx.HTTPStatusError` when the sandbox refuses the request.
    """

    secret_key = DOC_SECRET_KEY
    client_key = DOC_CLIENT_KEY

    def __init__(self, url: str, control: httpx.Client) -> None:
        self.url = url
        self._control = control

    def _post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self._control.post(path, json=body if body is not None else {})
        response.raise_for_status()
        return response.json()

    def _get_items(self, path: str) -> list[dict[str, Any]]:
        response = self._control.get(path)
        response.raise_for_status()
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    def reset(self) -> None:
        """Forgets payments, accounts, webhooks, faults and calls; the clock returns to now."""
        self._post("/sandbox/reset")

    def open_payment(
        self, *, order_id: str, amount: int, order_name: str = "테스트 주문", **extra: Any
    ) -> str:
        """What the customer does in the payment window: returns the paymentKey to confirm."""
        body = {"orderId": order_id, "amount": amount, "orderName": order_name, **extra}
        payment_key: str = self._post("/sandbox/payments", body)["paymentKey"]
        return payment_key

    def billing_auth_key(self, customer_key: str) -> str:
        """What card registration hands back: an authKey to issue a billing key with."""
        auth_key: str = self._post("/sandbox/billing/auth", {"customerKey": customer_key})[
            "authKey"
        ]
        return auth_key

    def deposit(self, payment_key: str) -> dict[str, Any]:
        """The customer pays into a virtual account: the Payment, now DONE."""
        payment: dict[str, Any] = self._post(f"/sandbox/virtual-accounts/{payment_key}/deposit")
        return payment

    def deposit_error(self, payment_key: str) -> dict[str, Any]:
        """The bank takes the deposit back: the Payment, WAITING_FOR_DEPOSIT again."""
        payment: dict[str, Any] = self._post(
            f"/sandbox/virtual-accounts/{payment_key}/deposit-error"
        )
        return payment

    def trigger_webhook(self, event_type: str, **fields: Any) -> dict[str, Any]:
        """Sends a webhook now: `trigger_webhook("PAYMENT_STATUS_CHANGED", payment_key=…)`.
        Answers the body sent."""
        body = {"eventType": event_type, **_camel(fields)}
        sent: dict[str, Any] = self._post("/sandbox/webhooks/trigger", body)["body"]
        return sent

    def fault(self, **spec: Any) -> dict[str, Any]:
        """Misbehaves on purpose: `fault(path="/v1/payments/confirm", status=500)`."""
        fault: dict[str, Any] = self._post("/sandbox/faults", _camel(spec))
        return fault

    def advance_clock(self, seconds: float) -> str:
        now: str = self._post("/sandbox/clock", {"advanceSeconds": seconds})["now"]
        return now

    def calls(self) -> list[dict[str, Any]]:
        return self._get_items("/sandbox/calls")

    def webhooks(self) -> list[dict[str, Any]]:
        return self._get_items("/sandbox/webhooks")


def _camel(spec: dict[str, Any]) -> dict[str, Any]:
    def camel(name: str) -> str:
        head, *rest = name.split("_")
        return head + "".join(part.title() for part in rest)

    return {camel(name): value for name, value in spec.items()}


@contextmanager
def toss_sandbox_running(
    webhook_url: str | None = None, webhook_time_scale: float = 1.0, **options: Any
) -> Iterator[TossSandbox]:
    """A fresh sandbox and a handle on it, both closed when the block ends."""
    with (
        running_sandbox(webhook_url, webhook_time_scale, **options) as url,
        httpx.Client(base_url=url, timeout=10) as control,
    ):
        yield TossSandbox(url, control)
