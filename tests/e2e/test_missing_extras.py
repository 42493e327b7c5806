"""Drivers and broker clients are extras (docs/dependencies.md): a real `sunap` process on an
interpreter where a package is absent. Absence is made by a directory first on PYTHONPATH whose
package raises ModuleNotFoundError on import, exactly what Python raises when it is not installed.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.service import SUNAP, free_port, running_service

EXTRAS = {
    "asyncpg": "postgresql",
    "aiomysql": "mariadb",
    "aiokafka": "kafka",
    "aio_pika": "rabbitmq",
    "nats": "nats",
    "redis": "redis",
}


def without(tmp_path: Path, *modules: str) -> dict[str, str]:
    """An environment in which importing any of `modules` fails as if it were not installed."""
    blocked = tmp_path / "not-installed"
    for module in modules:
        package = blocked / module
        package.mkdir(parents=True)
        (package / "__init__.py").write_text(
            f"raise ModuleNotFoundError({f'No module named {module!r}'!r}, name={module!r})\n"
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUNAP_", "TOSS_"))}
    env["PYTHONPATH"] = str(blocked)
    return env


def sunap(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SUNAP, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )


def test_the_embedded_default_runs_with_no_extra_installed(tmp_path: Path) -> None:
    env = without(tmp_path, *EXTRAS)
    with running_service(tmp_path, PYTHONPATH=env["PYTHONPATH"]) as service:
        key = service.create_key("shop", "payments:read", "payments:write")
        with service.client(key) as api:
            created = api.post("/v1/payments", json={"orderName": "생수", "amount": 15000})
            assert created.status_code == 201, created.text
            assert api.get(f"/v1/payments/{created.json()['id']}").json()["status"] == "READY"


@pytest.mark.parametrize(
    ("url", "module", "extra"),
    [
        ("postgresql://sunap@127.0.0.1:5432/sunap", "asyncpg", "postgresql"),
        ("mariadb://root@127.0.0.1:3306/sunap", "aiomysql", "mariadb"),
    ],
)
def test_a_database_without_its_driver_refuses_to_start_naming_the_extra(
    tmp_path: Path, url: str, module: str, extra: str
) -> None:
    env = without(tmp_path, module) | {"SUNAP_DATABASE_URL": url, "SUNAP_PORT": str(free_port())}
    for command in (["migrate"], ["serve", "--grpc-port", "0"]):
        done = sunap(tmp_path, env, *command)
        assert done.returncode == 2, (command, done.stderr)
        assert "SUNAP_DATABASE_URL" in done.stderr
        assert f"pip install 'sunap[{extra}]'" in done.stderr
        assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("url", "module", "extra"),
    [
        ("kafka://127.0.0.1:9092", "aiokafka", "kafka"),
        ("amqp://guest:guest@127.0.0.1:5672/", "aio_pika", "rabbitmq"),
        ("nats://127.0.0.1:4222", "nats", "nats"),
        ("redis://127.0.0.1:6379/0", "redis", "redis"),
    ],
)
def test_a_broker_without_its_client_refuses_to_start_naming_the_extra(
    tmp_path: Path, url: str, module: str, extra: str
) -> None:
    env = without(tmp_path, module) | {
        "SUNAP_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'sunap.db'}",
        "SUNAP_BROKER_URL": url,
        "SUNAP_PORT": str(free_port()),
    }
    done = sunap(tmp_path, env, "serve", "--grpc-port", "0")
    assert done.returncode == 2, done.stderr
    assert "SUNAP_BROKER_URL" in done.stderr
    assert "Sunap listening" not in done.stdout  # refused before the banner and any migration
    assert not (tmp_path / "sunap.db").exists()
    assert f"pip install 'sunap[{extra}]'" in done.stderr
    assert "guest:guest" not in done.stderr  # the message names the setting, not its secret
    assert "Traceback" not in done.stderr
