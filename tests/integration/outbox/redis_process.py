"""A redis-server of the test's own, on a free port, that the test can kill and start again without
disturbing anyone else using the machine's Redis. The append-only file is synced on every write,
so whatever it acknowledged survives a kill -9, as a durable broker's acks would."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis

HOST = "127.0.0.1"
PATIENCE = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class RedisProcess:
    directory: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--bind", HOST,
                "--port", str(self.port),
                "--dir", str(self.directory),
                "--save", "",
                "--appendonly", "yes",
                "--appendfsync", "always",
                "--logfile", str(self.directory / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:
            try:
                with redis.Redis(host=HOST, port=self.port, socket_timeout=1) as client:
                    if client.ping():
                        return
            except redis.exceptions.RedisError:
                time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"redis-server did not come up on port {self.port}")

    def kill(self) -> None:
        """kill -9: the broker vanishes mid-conversation."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@contextmanager
def redis_process(directory: Path) -> Iterator[RedisProcess]:
    server = RedisProcess(directory, free_port())
    server.start()
    try:
        yield server
    finally:
        server.kill()
