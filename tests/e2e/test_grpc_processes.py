"""Which process serves gRPC, and on which port: `sunap serve` beside HTTP (SUNAP_GRPC_PORT,
`--grpc-port`, 0 off), never `sunap worker`; a port another server holds stops the start."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.e2e.flows import wait_for
from tests.support.service import RunningService, free_port, running_service

SUNAP = [sys.executable, "-m", "sunap.cli"]


def listening_ports(pid: int) -> set[int]:
    """The TCP ports the process listens on, read from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    ports = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def http_port(service: RunningService) -> int:
    return int(service.env["SUNAP_PORT"])


def serving(target: str) -> bool:
    with grpc.insecure_channel(target) as channel:
        check = health_pb2_grpc.HealthStub(channel).Check
        return bool(check(health_pb2.HealthCheckRequest(), timeout=10).status)


def test_sunap_serve_listens_on_its_http_port_and_its_grpc_port(tmp_path: Path) -> None:
    with running_service(tmp_path) as service:
        assert service.process is not None
        grpc_port = int(service.env["SUNAP_GRPC_PORT"])
        assert listening_ports(service.process.pid) == {http_port(service), grpc_port}
        assert serving(service.grpc_target)
        assert f"gRPC (sunap.v1.PaymentService, health, reflection) on 127.0.0.1:{grpc_port}" in (
            service.logs()
        )


def test_grpc_port_zero_turns_grpc_off(tmp_path: Path) -> None:
    with running_service(tmp_path, SUNAP_GRPC_PORT="0") as service:
        assert service.process is not None
        assert listening_ports(service.process.pid) == {http_port(service)}
        assert "gRPC: off" in service.logs()


def test_the_grpc_port_flag_overrides_the_setting(tmp_path: Path) -> None:
    flag_port = free_port()
    with running_service(tmp_path, "--grpc-port", str(flag_port)) as service:
        assert service.process is not None
        assert listening_ports(service.process.pid) == {http_port(service), flag_port}
        assert serving(f"127.0.0.1:{flag_port}")


def test_a_grpc_port_another_server_holds_stops_sunap_serve_from_starting(tmp_path: Path) -> None:
    with socket.socket() as holder:
        # As another gRPC server would hold it: grpc sets SO_REUSEPORT, which would let a second
        # server share the port and take half its calls, unless the second refuses to.
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SUNAP_", "TOSS_"))}
        env.update(
            SUNAP_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
            SUNAP_PORT=str(free_port()),
            SUNAP_GRPC_PORT=str(taken),
        )
        result = subprocess.run(
            [*SUNAP, "serve"], env=env, capture_output=True, timeout=60, cwd=tmp_path
        )
    assert result.returncode == 2, result.stderr.decode()[-2000:]
    assert f"The gRPC port {taken} on 127.0.0.1 cannot be used" in result.stderr.decode()
    assert b"Traceback" not in result.stderr


def test_sunap_worker_serves_no_grpc(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUNAP_", "TOSS_"))}
    env.update(
        SUNAP_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'w.db'}",
        SUNAP_PORT=str(free_port()),
        SUNAP_GRPC_PORT=str(free_port()),
    )
    subprocess.run([*SUNAP, "migrate"], env=env, check=True, capture_output=True, cwd=tmp_path)
    with (tmp_path / "worker.log").open("ab") as log:
        worker = subprocess.Popen([*SUNAP, "worker"], env=env, stdout=log, stderr=log, cwd=tmp_path)
    try:
        time.sleep(3)  # let it start its loops
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()
        assert listening_ports(worker.pid) == set()
        with pytest.raises(ConnectionRefusedError), socket.socket() as probe:
            probe.connect(("127.0.0.1", int(env["SUNAP_GRPC_PORT"])))
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def test_sunap_worker_serves_its_own_metrics_behind_the_token_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    """With the API in another process, what only the worker counts (relay errors, reconcile
    outcomes, its own crashes) must be scraped from the worker itself."""
    metrics_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUNAP_", "TOSS_"))}
    env.update(
        SUNAP_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'm.db'}",
        SUNAP_WORKER_METRICS_PORT=str(metrics_port),
        SUNAP_METRICS_TOKEN="scrape-token-0001",
    )
    subprocess.run([*SUNAP, "migrate"], env=env, check=True, capture_output=True, cwd=tmp_path)
    with (tmp_path / "worker.log").open("ab") as log:
        worker = subprocess.Popen([*SUNAP, "worker"], env=env, stdout=log, stderr=log, cwd=tmp_path)
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    try:

        def scraped() -> httpx.Response | None:
            try:
                return httpx.get(url, headers={"Authorization": "Bearer scrape-token-0001"})
            except httpx.TransportError:
                return None

        answer = wait_for(scraped, timeout=30)
        assert answer is not None, (tmp_path / "worker.log").read_text()
        assert answer.status_code == 200
        for family in ("sunap_relay_errors_total", "sunap_outbox_unpublished"):
            assert family in answer.text, family
        assert httpx.get(url).status_code == 401
        assert httpx.get(url.replace("/metrics", "/v1/payments")).status_code == 404
        assert listening_ports(worker.pid) == {metrics_port}
    finally:
        worker.terminate()
        assert worker.wait(timeout=30) == 0, (tmp_path / "worker.log").read_text()
