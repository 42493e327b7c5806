"""The sandbox package's own commands, `toss-sandbox` and `python -m sunap_toss_sandbox`, as real
processes: each prints its banner, serves Toss's API (a payment approved end to end), and ends
with 0 on SIGTERM or SIGINT, as `sunap sandbox` does (a signal's default 143 is a failed run to
systemd and Kubernetes)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.sandbox_server import SANDBOX_SECRET_KEY
from tests.support.service import free_port

COMMANDS = {
    "toss-sandbox": [str(Path(sys.executable).parent / "toss-sandbox")],
    "python -m": [sys.executable, "-m", "sunap_toss_sandbox"],
}


def serves(url: str) -> bool:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            return httpx.get(f"{url}/sandbox/calls", timeout=1).is_success
        except httpx.TransportError:
            time.sleep(0.1)
    return False


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_the_sandbox_command_serves_toss_and_exits_0_when_stopped(
    tmp_path: Path, command: str, stop_signal: signal.Signals
) -> None:
    port = free_port()
    log = tmp_path / "sandbox.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*COMMANDS[command], "--port", str(port)], stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        assert serves(url), log.read_text()
        with httpx.Client(base_url=url, auth=(SANDBOX_SECRET_KEY, ""), timeout=10) as toss:
            window = toss.post(
                "/sandbox/payments", json={"orderId": "order-cmd-0001", "amount": 5000}
            ).json()
            approved = toss.post("/v1/payments/confirm", json=window)
        assert approved.status_code == 200 and approved.json()["status"] == "DONE"

        process.send_signal(stop_signal)
        assert process.wait(timeout=30) == 0, log.read_text()
        assert f"Toss sandbox (SANDBOX, no money moves) at {url}" in log.read_text()
    finally:
        process.kill()
        process.wait()
