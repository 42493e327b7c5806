"""A real `sunap serve` process for end-to-end tests: its own SQLite file, ports and API keys."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.databases import create_database, drop_database

SUNAP = [sys.executable, "-m", "sunap.cli"]
# What must never be in a log: an API key of ours, a Toss secret key, Basic credentials, a path
# that holds Toss's billingKey (only its template may be logged).
SECRET_SHAPES = re.compile(
    r"sk_sunap_\w{8,}|(?:test|live)_g?sk_\w{8,}|Basic [A-Za-z0-9+/=]{12,}"
    r"|/v1/billing/(?!\{billingKey\}|authorizations)[^\s\"'?]+"
)
# A Fernet key for tests only (32 url-safe base64 bytes).
TEST_SECRETS_KEY = "bW9jay1rZXktZm9yLXRlc3RzLW9ubHktMzJieXRlcyE="


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningService:
    base_url: str
    env: dict[str, str]
    workdir: Path
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    keys: dict[str, str] = field(default_factory=dict)
    serve_args: list[str] = field(default_factory=list)  # e.g. ["--grpc-port", "0"]

    def __post_init__(self) -> None:
        # A port of its own: services run in parallel, and grpc's default 9087 would collide.
        self.env.setdefault("SUNAP_GRPC_PORT", str(free_port()))

    @property
    def sandbox_url(self) -> str:
        return f"{self.base_url}/toss-sandbox"

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.env['SUNAP_GRPC_PORT']}"

    def create_key(self, tenant: str, *scopes: str) -> str:
        args = [*SUNAP, "keys", "create", "--tenant", tenant]
        for scope in scopes or ("admin",):
            args += ["--scope", scope]
        out = subprocess.run(args, env=self.env, capture_output=True, check=True, cwd=self.workdir)
        key = out.stdout.decode().strip().splitlines()[-1]
        self.keys[key[-8:]] = key
        return key

    def cli(self, *args: str) -> str:
        """What a `sunap` command run against this service prints on stdout; it must succeed."""
        done = subprocess.run(
            [*SUNAP, *args], env=self.env, capture_output=True, text=True, cwd=self.workdir
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def assert_no_secret_logged(self) -> None:
        """No API key it handed out, no Toss secret key, no Basic credentials and no URL that
        holds a billing key reached the service's log."""
        logs = self.logs()
        secrets = [*self.keys.values(), self.env.get("TOSS_SECRET_KEY") or "test_sk_"]
        leaked = [secret for secret in secrets if secret in logs]
        leaked += SECRET_SHAPES.findall(logs)
        assert not leaked, f"secrets in the log of sunap serve: {[s[:12] + '…' for s in leaked]}"

    def client(self, key: str | None = None, timeout: float = 120.0) -> httpx.Client:
        # Generous: these tests check outcomes, not latency (a loaded CI machine is slow).
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    def start(self) -> None:
        assert self.log_path is not None
        with self.log_path.open("ab") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                [*SUNAP, "serve", *self.serve_args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
            )
        # Generous: on a loaded machine importing everything takes a while.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.process = None
                raise RuntimeError(f"sunap serve exited early:\n{self.logs()}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.kill()  # not left running behind a failed test
        raise RuntimeError(f"sunap serve did not come up:\n{self.logs()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """kill -9: no shutdown code runs."""
        self.stop(signal.SIGKILL)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""


@contextmanager
def running_service(
    tmp_path: Path, *serve_args: str, migrated: bool = True, **extra_env: str
) -> Iterator[RunningService]:
    """`migrated=False`: `sunap migrate` is not run first (a release that skipped it)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUNAP_", "TOSS_"))}
    env.update(
        SUNAP_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'sunap.db'}",
        SUNAP_PORT=str(port),
        SUNAP_WORKER_POLL_SECONDS="0.2",
        SUNAP_RECONCILE_DELAYS="1,1,2,2,4",
    )
    env.update(extra_env)
    if migrated:
        migrate = [*SUNAP, "migrate"]
        subprocess.run(migrate, env=env, cwd=tmp_path, check=True, capture_output=True)
    service = RunningService(
        base_url=f"http://127.0.0.1:{port}",
        env=env,
        workdir=tmp_path,
        log_path=tmp_path / "serve.log",
        serve_args=list(serve_args),
    )
    service.start()
    try:
        yield service
    finally:
        service.stop()
    service.assert_no_secret_logged()  # not when the test failed: its own error comes first


@contextmanager
def running_service_on(backend: str, workdir: Path, **extra_env: str) -> Iterator[RunningService]:
    """A service on a fresh database of `backend` ("sqlite", "postgresql", "mariadb"), dropped
    once the service has stopped. It has a SUNAP_SECRETS_KEY, which the embedded SQLite default
    makes by itself and PostgreSQL and MariaDB need (checkout links, tenants' own accounts)."""
    url = create_database(backend, workdir)
    env = {"SUNAP_DATABASE_URL": url, "SUNAP_SECRETS_KEY": TEST_SECRETS_KEY, **extra_env}
    try:
        with running_service(workdir, **env) as service:
            yield service
    finally:
        drop_database(url)
