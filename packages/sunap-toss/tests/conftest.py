"""sunap-toss's own tests run against a standalone Toss sandbox process (`sunap sandbox`), the
way a stranger would: over HTTP, on a loopback port, nothing shared in memory.

`TOSS_SANDBOX_COMMAND` names another sandbox command (default: `sunap sandbox` beside this
Python); it must accept `--host` and `--port`.
"""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

SANDBOX_SECRET_KEY = "test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R"  # Toss's public doc key
_START_TIMEOUT_SECONDS = 90.0  # a loaded 2-core machine can take long to import


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def sandbox_command() -> list[str]:
    configured = os.environ.get("TOSS_SANDBOX_COMMAND")
    if configured:
        return shlex.split(configured)
    # Toss's one-second cancel rule off: these tests exercise the client's answer to a
    # FORBIDDEN_CONSECUTIVE_REQUEST through a fault, and cancel back to back elsewhere.
    return [
        str(Path(sys.executable).parent / "sunap"),
        "sandbox",
        "--consecutive-cancel-window",
        "0",
    ]


class StandaloneSandbox:
    """A `sunap sandbox` process and its control plane."""

    def __init__(self, tmp: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = (tmp / "sandbox.log").open("wb")
        self._process = subprocess.Popen(
            [*sandbox_command(), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=tmp,
        )
        self.control = httpx.Client(base_url=self.url, timeout=10.0)
        try:
            self._wait_until_up()
        except BaseException:
            self.stop()  # nothing left running or open behind a failed start
            raise

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the sandbox exited with {self._process.returncode}")
            try:
                self.control.get("/sandbox/clock").raise_for_status()
                return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("the sandbox did not start")

    def stop(self) -> None:
        self.control.close()
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._log.close()

    # The control plane: what the customer does in Toss's windows, faults, the calls log.
    def reset(self) -> None:
        self.control.post("/sandbox/reset").raise_for_status()
        self.control.delete("/sandbox/faults").raise_for_status()

    def pay_in_window(self, order_id: str, amount: int, **extra: Any) -> str:
        body = {"orderId": order_id, "amount": amount, "method": "CARD", **extra}
        response = self.control.post("/sandbox/payments", json=body)
        response.raise_for_status()
        payment_key: str = response.json()["paymentKey"]
        return payment_key

    def register_card(self, customer_key: str) -> str:
        response = self.control.post("/sandbox/billing/auth", json={"customerKey": customer_key})
        response.raise_for_status()
        auth_key: str = response.json()["authKey"]
        return auth_key

    def add_fault(self, **spec: Any) -> None:
        self.control.post("/sandbox/faults", json=spec).raise_for_status()

    def calls(self, path: str) -> list[dict[str, Any]]:
        response = self.control.get("/sandbox/calls")
        response.raise_for_status()
        return [item for item in response.json()["items"] if item["path"] == path]


@pytest.fixture(scope="session")
def standalone_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandaloneSandbox]:
    sandbox = StandaloneSandbox(tmp_path_factory.mktemp("toss-sandbox"))
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture
def sandbox(standalone_sandbox: StandaloneSandbox) -> StandaloneSandbox:
    standalone_sandbox.reset()
    return standalone_sandbox


@pytest.fixture
def order_id() -> str:
    return f"order-{uuid.uuid4().hex[:20]}"
