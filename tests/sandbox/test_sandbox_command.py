"""The sandbox package's own commands, `toss-sandbox` and `python -m sunap_toss_sandbox`, as real
processes: each prints its banner, serves Toss's API (a payment approved end to end), and ends
with 0 on SIGTERM or SIGINT, as `sunap sandbox` does (a signal's default 143 is a failed run to
systemd and Kubernetes)."""

from __future__ import annotations

import signal
import socket
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


# A refused start ends at once; one that was not refused serves until this ends it.
UNTIL_KILLED = 60


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


@pytest.mark.parametrize(
    "args",
    [
        ("--port", "99999"),  # the socket would take it modulo 65536: port 34463
        ("--port", "70000"),
        ("--port", "0"),
        ("--consecutive-cancel-window", "-1"),
        ("--consecutive-cancel-window", "nan"),
        ("--webhook-url", "notaurl"),
        ("--webhook-url", "javascript:alert(1)"),
    ],
    ids=" ".join,
)
@pytest.mark.parametrize("command", list(COMMANDS))
def test_an_option_out_of_range_is_a_usage_error_before_the_banner(
    command: str, args: tuple[str, ...]
) -> None:
    result = subprocess.run(
        [*COMMANDS[command], *args], capture_output=True, text=True, timeout=UNTIL_KILLED
    )

    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""  # no banner
    assert f"argument {args[0]}" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_taken_port_is_one_line_and_exit_2_with_no_banner(command: str) -> None:
    """It printed the banner ("at http://…"), then uvicorn's error, and exited 3: the code
    `sunap` keeps for a database it cannot use."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        result = subprocess.run(
            [*COMMANDS[command], "--port", str(taken)],
            capture_output=True,
            text=True,
            timeout=UNTIL_KILLED,
        )

    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert f"port {taken} on 127.0.0.1 cannot be used" in line


def test_a_requested_dropped_connection_is_not_logged_as_an_error(tmp_path: Path) -> None:
    """uvicorn logged every dropConnection fault as `ERROR: ASGI callable returned without
    completing response.`: an outcome the developer asked for, reported as a failure."""
    port = free_port()
    log = tmp_path / "sandbox.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*COMMANDS["toss-sandbox"], "--port", str(port)], stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        assert serves(url), log.read_text()
        with httpx.Client(base_url=url, auth=(SANDBOX_SECRET_KEY, ""), timeout=10) as toss:
            toss.post("/sandbox/faults", json={"dropConnection": True, "times": 2})
            for _ in range(2):
                with pytest.raises(httpx.TransportError):
                    toss.get("/v1/payments/dropped-on-purpose")
            assert toss.get("/sandbox/calls").is_success  # answers on as before
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert "ERROR" not in log.read_text() and "ASGI callable" not in log.read_text()
    finally:
        process.kill()
        process.wait()
